//! APF002 flow-schema-exempt: FlowSchemas that exempt many clients, or everything they send,
//! from API Priority and Fairness.

use findings::{
    CheckInfo, Draft, EvidenceKind, Finding, Measure, Remedy, RemedyKind, Safety, Severity, Subject, Table,
};

use super::Context;
use crate::Manifests;

/// APF002.
pub const INFO: CheckInfo = CheckInfo {
    code: "APF002",
    name: "flow-schema-exempt",
    default_severity: Severity::Warning,
    evidence: EvidenceKind::Manifests,
    thresholds: &[],
    doc: r#"## What it detects
FlowSchemas, other than the API server's own `exempt` and `probes`, that send requests to a
priority level of type `Exempt` for many identities (a group, every user, every service
account of a namespace), for every resource (`*`), or for `list` or `watch` (or `*` verbs) of a
resource across all namespaces (a resource rule with `clusterScope: true`), even for one
identity: a cluster-wide LIST is the most expensive request there is, and exempt, APF can never
throttle the client that sends it.

A schema that exempts one identity's other calls to named resources (such as OpenShift's
`openshift-apiserver-sar`, with `*` verbs on SubjectAccessReviews and TokenReviews, which are
only ever created: subresources and the `*reviews` APIs are never listed) is not reported, nor
one whose rules take in health checks only (no resource rules, and non-resource URLs that are
all `/healthz`, `/readyz`, `/livez` or paths under them), whatever its subjects: that is the
shape of the bootstrap `probes` FlowSchema, and those cheap endpoints cannot flood the API
server.

## Why it matters
Exempt requests are never queued or rejected: API Priority and Fairness cannot limit them.
Exempting a client to make its 429s go away leaves nothing between that client and the API
server: if it floods the API server (a LIST storm, a retry loop), every other client pays.
The Kubernetes documentation reserves the exempt level for requests that must never wait,
such as `system:masters`.

## Example
FlowSchema `monitoring-exempt` sends every request of group `system:serviceaccounts:monitoring`
to priority level `exempt`.

## Remedy
Give those clients a `Limited` priority level of their own, with enough
`nominalConcurrencyShares` for their legitimate load, and point the FlowSchema at it; keep
`Exempt` for the requests that must never wait.

## References
- Kubernetes: API Priority and Fairness, exempt priority levels and the bootstrap configuration: https://kubernetes.io/docs/concepts/cluster-administration/flow-control/
"#,
};

/// The API server's own FlowSchemas that are exempt by design.
const BOOTSTRAP_EXEMPT: [&str; 2] = ["exempt", "probes"];

/// Runs APF002.
pub fn run(m: &Manifests, ctx: &Context, out: &mut Vec<Finding>) {
    for fs in &m.flow_schemas {
        if BOOTSTRAP_EXEMPT.contains(&fs.name.as_str()) {
            continue;
        }
        // Only the level named `exempt` may be of type Exempt: the API server refuses any other
        // (the loader reports one as a problem and leaves it out).
        if fs.priority_level != "exempt" {
            continue;
        }
        // Health checks only, as the bootstrap `probes` exempts for everyone.
        if !fs.rules.is_empty() && fs.rules.iter().all(crate::apf::FlowRule::health_checks_only) {
            continue;
        }
        let broad: Vec<String> = fs
            .rules
            .iter()
            .flat_map(|r| &r.subjects)
            .filter(|s| s.is_broad())
            .map(|s| s.describe())
            .collect();
        let everything = fs.rules.iter().any(|r| r.resources().contains(&"*"));
        // LIST or WATCH across all namespaces (a request naming no namespace matches only a
        // rule with clusterScope): the most expensive requests there are, which APF can then
        // never throttle, even for one client.
        let mut cluster_lists: Vec<String> = Vec::new();
        for rr in fs.rules.iter().flat_map(|r| &r.resource_rules) {
            let verbs: Vec<&str> = rr
                .verbs
                .iter()
                .map(String::as_str)
                .filter(|v| matches!(*v, "list" | "watch" | "*"))
                .collect();
            // Subresources and the create-only review APIs (subjectaccessreviews, tokenreviews,
            // …, which OpenShift exempts for its API server) are never listed.
            let listable: Vec<&str> = rr
                .resources
                .iter()
                .map(String::as_str)
                .filter(|r| !r.contains('/') && !r.ends_with("reviews"))
                .collect();
            if !rr.cluster_scope || verbs.is_empty() || listable.is_empty() {
                continue;
            }
            let verbs = if verbs.contains(&"*") {
                "every verb (list and watch included)".to_owned()
            } else {
                verbs.join(" and ")
            };
            let what = format!("{verbs} of {} across all namespaces", listable.join(", "));
            if !cluster_lists.contains(&what) {
                cluster_lists.push(what);
            }
        }
        if broad.is_empty() && !everything && cluster_lists.is_empty() {
            continue;
        }
        let subjects: Vec<String> = fs.rules.iter().flat_map(|r| &r.subjects).map(|s| s.describe()).collect();
        let who = if broad.is_empty() { subjects.join(", ") } else { broad.join(", ") };
        let scope = if everything {
            " (every resource)".to_owned()
        } else if broad.is_empty() {
            format!(" for {}", cluster_lists.join("; "))
        } else {
            String::new()
        };
        let lists = if cluster_lists.is_empty() {
            String::new()
        } else {
            format!(
                " Its rules take in {}: a LIST across all namespaces is the most expensive request there is, and, \
                 exempt, API Priority and Fairness can never queue or reject it, even for a single client.",
                cluster_lists.join("; ")
            )
        };
        let rows = fs
            .rules
            .iter()
            .map(|r| {
                vec![
                    r.subjects.iter().map(|s| s.describe()).collect::<Vec<_>>().join(", "),
                    match r.resources() {
                        resources if resources.is_empty() => "-".to_owned(),
                        resources => resources.join(", "),
                    },
                    if r.non_resource { "yes".to_owned() } else { "no".to_owned() },
                ]
            })
            .collect();
        out.push(Draft {
            severity: Severity::Warning,
            title: format!("FlowSchema {} exempts {who}{scope} from API Priority and Fairness", fs.name),
            subject: Subject::new("flow-schema", fs.name.clone()),
            summary: format!(
                "FlowSchema `{}` (matchingPrecedence {}) sends the requests it matches to priority level `{}`, of type Exempt: they are never queued or rejected, so API Priority and Fairness cannot protect the API server from these clients. A flood from any of them takes seats from every other client.{lists}",
                findings::text::literal_backticks(&fs.name),
                fs.matching_precedence,
                findings::text::literal_backticks(&fs.priority_level)
            ),
            source: format!("manifests:{}:{}", fs.file, fs.line),
            measures: vec![
                Measure::new("matchingPrecedence", f64::from(fs.matching_precedence), "count"),
                Measure::new("subjects", subjects.len() as f64, "count"),
            ],
            table: Some(Table {
                columns: vec!["subjects".into(), "resources".into(), "non-resource URLs".into()],
                rows,
            }),
            thresholds: Vec::new(),
            remedies: vec![
                Remedy {
                    title: format!("Send {}'s requests to a Limited (non-exempt) priority level", fs.name),
                    kind: RemedyKind::Command,
                    body: format!(
                        "# workload-high is the bootstrap level for important workloads; a level of its own, with its own\n# nominalConcurrencyShares, isolates these clients further.\nkubectl patch flowschema {} --type=merge -p '{{\"spec\":{{\"priorityLevelConfiguration\":{{\"name\":\"workload-high\"}}}}}}'",
                        remedy::shell_quote(&fs.name)
                    ),
                    safety: Safety::ReviewFirst,
                },
                Remedy {
                    title: "Watch what the exempt level carries".to_owned(),
                    kind: RemedyKind::Advice,
                    body: "sum by (flow_schema) (rate(apiserver_flowcontrol_dispatched_requests_total{priority_level=\"exempt\"}[5m]))".to_owned(),
                    safety: Safety::Safe,
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

    fn schema(name: &str, level: &str, subject: &str, resources: &str) -> String {
        format!(
            "---\napiVersion: flowcontrol.apiserver.k8s.io/v1\nkind: FlowSchema\nmetadata:\n  name: {name}\nspec:\n  matchingPrecedence: 50\n  priorityLevelConfiguration:\n    name: {level}\n  rules:\n  - subjects:\n    - {subject}\n    resourceRules:\n    - verbs: ['*']\n      apiGroups: ['*']\n      resources: [{resources}]\n      namespaces: ['*']\n"
        )
    }

    fn findings(text: &str) -> Vec<Finding> {
        let mut m = Manifests::default();
        parse_text("apf.yaml", text, &mut m);
        assert!(m.files[0].problems.is_empty(), "{:?}", m.files[0].problems);
        let mut out = Vec::new();
        run(&m, &Context::default(), &mut out);
        out
    }

    #[test]
    fn broad_or_catch_all_exemptions_are_reported_narrow_ones_are_not() {
        let group = "{kind: Group, group: {name: 'system:serviceaccounts:monitoring'}}";
        let one_sa = "{kind: ServiceAccount, serviceAccount: {namespace: ns, name: sar-checker}}";
        let text = [
            schema("monitoring-exempt", "exempt", group, "'*'"),
            schema("sar-exempt", "exempt", one_sa, "subjectaccessreviews"),
            schema("all-for-one", "exempt", one_sa, "'*'"),
            schema("limited", "workload-low", group, "'*'"),
            schema("exempt", "exempt", group, "'*'"),
            schema("group-pods", "exempt", group, "pods"),
        ]
        .concat();
        let titles: Vec<String> = findings(&text).into_iter().map(|f| f.title).collect();
        assert_eq!(
            titles,
            vec![
                "FlowSchema monitoring-exempt exempts group system:serviceaccounts:monitoring (every resource) from API Priority and Fairness",
                "FlowSchema all-for-one exempts service account ns/sar-checker (every resource) from API Priority and Fairness",
                "FlowSchema group-pods exempts group system:serviceaccounts:monitoring from API Priority and Fairness",
            ]
        );
    }

    /// Review 26 §13: FlowSchema `sa-exempt` sent one service account's `list pods` across
    /// all namespaces to `exempt` and was not reported (one identity, a named resource): the
    /// README demo's culprit, which APF then can never throttle.
    #[test]
    fn apf002_reports_one_identity_exempt_for_a_cluster_wide_list() {
        let one_sa =
            "{kind: ServiceAccount, serviceAccount: {namespace: observability, name: inventory-exporter}}";
        let rule = |name: &str, verbs: &str, cluster_scope: bool| {
            format!(
                "---\napiVersion: flowcontrol.apiserver.k8s.io/v1\nkind: FlowSchema\nmetadata:\n  name: {name}\nspec:\n  matchingPrecedence: 600\n  priorityLevelConfiguration:\n    name: exempt\n  rules:\n  - subjects:\n    - {one_sa}\n    resourceRules:\n    - verbs: [{verbs}]\n      apiGroups: ['']\n      resources: [pods]\n      clusterScope: {cluster_scope}\n      namespaces: ['*']\n"
            )
        };
        let sar = "---\napiVersion: flowcontrol.apiserver.k8s.io/v1\nkind: FlowSchema\nmetadata:\n  name: sar\nspec:\n  matchingPrecedence: 2\n  priorityLevelConfiguration:\n    name: exempt\n  rules:\n  - subjects:\n    - {kind: ServiceAccount, serviceAccount: {namespace: a, name: b}}\n    resourceRules:\n    - verbs: ['*']\n      apiGroups: ['*']\n      resources: [subjectaccessreviews, tokenreviews]\n      clusterScope: true\n      namespaces: ['*']\n";
        let text = [
            sar.to_owned(),
            rule("sa-exempt", "list", true),
            rule("sa-watch-all", "'*'", true),
            rule("sa-get", "get", true),
            rule("sa-list-in-namespaces", "list", false),
        ]
        .concat();
        let found = findings(&text);
        let titles: Vec<&str> = found.iter().map(|f| f.title.as_str()).collect();
        assert_eq!(
            titles,
            vec![
                "FlowSchema sa-exempt exempts service account observability/inventory-exporter for list of pods across all namespaces from API Priority and Fairness",
                "FlowSchema sa-watch-all exempts service account observability/inventory-exporter for every verb (list and watch included) of pods across all namespaces from API Priority and Fairness",
            ]
        );
        assert!(found.iter().all(|f| f.severity == Severity::Warning));
        assert!(
            found[0].summary.contains("can never queue or reject it, even for a single client"),
            "{}",
            found[0].summary
        );
        assert!(
            found[0].remedies[0].title.contains("Limited (non-exempt) priority level"),
            "{}",
            found[0].remedies[0].title
        );
    }
}
