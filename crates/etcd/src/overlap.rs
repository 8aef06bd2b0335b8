//! One remedy per problem when several sources see it (review s51, item 7).
//!
//! `diagnose` merges the findings of the audit log, the scrapes, a live etcd and the manifests.
//! One jobs leak is then AUD008, MET002 and ETC008, each with a ResourceQuota named
//! `jobs.batch-count` for the same namespace and a different limit (`2200`, `1000` in
//! `NAMESPACE`, `13800`): applying the wrong one refuses every create there at once. One
//! failing webhook is AUD007, MET008, MET009 and WHK001, three of them with near-identical
//! patches. As with one database judged once ([`crate::report`]), every finding stays (each
//! source's evidence is worth reading), but the remedy is offered once, by the finding that
//! knows most, and the others say where it is.

use findings::{Finding, Remedy, RemedyKind, Safety};

/// Every overlapping remedy of `findings` kept on one finding: ResourceQuotas
/// (`one_quota_per_namespace`) and webhook patches (`one_webhook_patch`).
pub fn one_remedy_per_problem(findings: &mut [Finding]) {
    finished_jobs_where_they_leak(findings);
    one_quota_per_namespace(findings);
    one_webhook_patch(findings);
}

/// The namespaces AUD008 sees Jobs leak in, in its findings' order, each once.
fn leaking_job_namespaces(findings: &[Finding]) -> Vec<String> {
    let mut namespaces: Vec<String> = Vec::new();
    for f in findings.iter().filter(|f| f.code == "AUD008" && f.subject.kind == "resource") {
        if let Some(ns) = f.subject.name.strip_prefix("jobs.batch in namespace ")
            && !namespaces.iter().any(|n| n == ns)
        {
            namespaces.push(ns.to_owned());
        }
    }
    namespaces
}

/// Reviewer item 2: with the audit log and the scrapes, MET002's "Delete finished Jobs" went
/// through every namespace (`-A`), kube-system's too, while AUD008 of the same report named the
/// namespace the Jobs leak in. Its cluster-wide delete becomes one per such namespace
/// (`findings::text::delete_finished_jobs`: listed first, dry-run, CronJobs' Jobs left out), and
/// AUD008's own one-pipeline delete there (`remedy::cleanup_remedies`) a note naming it: the
/// commands once. With no count of Jobs (audit log alone), AUD008's delete takes the same
/// reviewed form.
fn finished_jobs_where_they_leak(findings: &mut [Finding]) {
    let namespaces = leaking_job_namespaces(findings);
    if namespaces.is_empty() {
        return;
    }
    let everywhere = findings::text::delete_finished_jobs(None);
    let mut scoped_by: Option<String> = None;
    for f in findings.iter_mut().filter(|f| matches!(f.code.as_str(), "MET002" | "ETC008")) {
        let Some(j) = f.remedies.iter().position(|r| r.kind == RemedyKind::Command && r.body == everywhere)
        else {
            continue;
        };
        let safety = f.remedies[j].safety;
        let scoped = namespaces.iter().map(|ns| Remedy {
            title: format!(
                "Delete finished Jobs in namespace {ns}, where AUD008 sees them leak: list them, dry-run, then delete"
            ),
            kind: RemedyKind::Command,
            body: findings::text::delete_finished_jobs(Some(ns)),
            safety,
        });
        f.remedies.splice(j..=j, scoped);
        scoped_by.get_or_insert_with(|| f.code.clone());
    }
    for f in findings.iter_mut().filter(|f| f.code == "AUD008") {
        for r in &mut f.remedies {
            let Some(ns) = namespaces.iter().find(|ns| {
                r.kind == RemedyKind::Command && r.body == findings::text::delete_completed_jobs(Some(ns))
            }) else {
                continue;
            };
            *r = match &scoped_by {
                Some(code) => Remedy {
                    title: format!("Delete finished Jobs in namespace {ns}: the commands are with {code}"),
                    kind: RemedyKind::Advice,
                    body: format!(
                        "{code} deletes the finished Jobs in namespace {ns}, listed first and dry-run: run its \
                         commands once, not one set per finding."
                    ),
                    safety: r.safety,
                },
                None => Remedy {
                    title: format!("Delete finished Jobs in namespace {ns}: list them, dry-run, then delete"),
                    kind: RemedyKind::Command,
                    body: findings::text::delete_finished_jobs(Some(ns)),
                    safety: Safety::ReviewFirst,
                },
            };
        }
    }
}

/// A ResourceQuota a remedy proposes, as its YAML reads.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Quota {
    /// The `count/…` key under `spec.hard`, e.g. `count/jobs.batch`.
    key: String,
    /// Its namespace; `None` for the `NAMESPACE` placeholder.
    namespace: Option<String>,
}

/// The quota a remedy's YAML proposes, read from the lines `kind: ResourceQuota`,
/// `namespace:` and `count/…:` the checks write. Anything else is not a quota.
fn quota_of(remedy: &Remedy) -> Option<Quota> {
    if remedy.kind != RemedyKind::Yaml {
        return None;
    }
    let lines = remedy.body.lines().filter(|l| !l.trim_start().starts_with('#'));
    let mut is_quota = false;
    let mut namespace = None;
    let mut key = None;
    for line in lines {
        let trimmed = line.trim();
        if trimmed == "kind: ResourceQuota" {
            is_quota = true;
        } else if let Some(ns) = trimmed.strip_prefix("namespace:") {
            namespace = Some(unquoted(ns.trim()).to_owned());
        } else if let Some((k, _)) = trimmed.split_once(':').filter(|(k, _)| k.starts_with("count/")) {
            key = Some(k.to_owned());
        }
    }
    let key = key.filter(|_| is_quota)?;
    let namespace = namespace.filter(|ns| !ns.is_empty() && ns != "NAMESPACE");
    Some(Quota { key, namespace })
}

/// A YAML scalar without its quotes (a double-quoted one without escapes: one with escapes
/// stays as it is, and then matches nothing, which leaves its remedy alone).
fn unquoted(s: &str) -> &str {
    for q in ['"', '\''] {
        if let Some(inner) = s.strip_prefix(q).and_then(|s| s.strip_suffix(q)) {
            return inner;
        }
    }
    s
}

/// How much a finding's quota knows: lower is better. A namespace named beats the placeholder;
/// then the live etcd read (ETC008, which counted the keys there), the scrapes (MET002, whose
/// cap is the count there when it knows the namespace), the audit log (AUD008, which saw the
/// creates of the window only and says to count first).
fn knowledge(code: &str, quota: &Quota) -> (bool, usize) {
    let source = match code {
        "ETC008" => 0,
        "MET002" => 1,
        "AUD008" => 2,
        _ => 3,
    };
    (quota.namespace.is_none(), source)
}

/// What the keeper of a quota read, for the note of the others.
fn what_it_read(code: &str) -> &'static str {
    match code {
        "ETC008" => "which counted the keys in etcd",
        "MET002" => "which read the count from the API server's metrics",
        _ => "which names the namespace",
    }
}

/// Several findings proposing a ResourceQuota for one resource in one namespace: the best
/// ([`knowledge`]) keeps it, the others' quota becomes a one-line note naming it. A quota for
/// the `NAMESPACE` placeholder is the same quota as the best one of its resource in a named
/// namespace.
fn one_quota_per_namespace(findings: &mut [Finding]) {
    // (finding, remedy, quota)
    let quotas: Vec<(usize, usize, Quota)> = findings
        .iter()
        .enumerate()
        .flat_map(|(i, f)| f.remedies.iter().enumerate().filter_map(move |(j, r)| Some((i, j, quota_of(r)?))))
        .collect();
    let mut notes: Vec<(usize, usize, Remedy)> = Vec::new();
    for (i, j, quota) in &quotas {
        let rank = knowledge(&findings[*i].code, quota);
        // The best quota this one overlaps: same key, and the same namespace or this one a
        // placeholder; the first of equals wins.
        let Some((k, _, best)) = quotas
            .iter()
            .filter(|(_, _, q)| q.key == quota.key && q.namespace.is_some())
            .filter(|(_, _, q)| quota.namespace.is_none() || q.namespace == quota.namespace)
            .min_by_key(|(k, _, q)| knowledge(&findings[*k].code, q))
        else {
            continue;
        };
        if k == i || knowledge(&findings[*k].code, best) > rank {
            continue;
        }
        let keeper = &findings[*k];
        let resource = quota.key.strip_prefix("count/").unwrap_or(&quota.key);
        let namespace = best.namespace.as_deref().unwrap_or_default();
        notes.push((
            *i,
            *j,
            Remedy {
                title: format!("Cap {resource} in namespace {namespace}: the ResourceQuota is with {}", keeper.code),
                kind: RemedyKind::Advice,
                body: format!(
                    "The ResourceQuota for {resource} in namespace {namespace} is with {}, {} (\"{}\"): apply \
                     that one quota, not one per finding.",
                    keeper.code,
                    what_it_read(&keeper.code),
                    keeper.title
                ),
                // The pointer carries the safety of what it points to: a quota below the
                // count blocks every create (on-call review 52, item 6: "[safe to apply]").
                safety: findings[*i].remedies.get(*j).map_or(Safety::ReviewFirst, |r| r.safety),
            },
        ));
    }
    for (i, j, note) in notes {
        if let Some(r) = findings.get_mut(i).and_then(|f| f.remedies.get_mut(j)) {
            *r = note;
        }
    }
}

/// Whether a remedy patches a webhook configuration.
fn is_webhook_patch(remedy: &Remedy, webhook: &str) -> bool {
    remedy.kind == RemedyKind::Command
        && remedy.body.contains("kubectl patch")
        && remedy.body.contains("webhookconfigurations")
        && remedy.body.contains(webhook)
}

/// A webhook WHK001 judged from the manifests: the other findings of that webhook (AUD007,
/// MET008, MET009) refer to its patches, written from the configuration as it is, instead of
/// offering their own.
fn one_webhook_patch(findings: &mut [Finding]) {
    let judged: Vec<String> = findings
        .iter()
        .filter(|f| f.code == "WHK001" && f.subject.kind == "webhook")
        .map(|f| f.subject.name.clone())
        .collect();
    for f in findings.iter_mut().filter(|f| !f.code.starts_with("WHK") && f.subject.kind == "webhook") {
        let webhook = f.subject.name.clone();
        if !judged.contains(&webhook) || !f.remedies.iter().any(|r| is_webhook_patch(r, &webhook)) {
            continue;
        }
        let note = Remedy {
            title: format!("Patch webhook {webhook}: the patches are with WHK001"),
            kind: RemedyKind::Advice,
            body: format!(
                "WHK001 read webhook {webhook}'s configuration from the manifests: apply its patches, written from \
                 the configuration as it is, not one per finding."
            ),
            // As WHK001's patches are (on-call review 52, item 6: the pointer said "safe").
            safety: Safety::ReviewFirst,
        };
        let mut noted = false;
        let remedies = std::mem::take(&mut f.remedies);
        for r in remedies {
            if !is_webhook_patch(&r, &webhook) {
                f.remedies.push(r);
            } else if !noted {
                f.remedies.push(note.clone());
                noted = true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use findings::{Evidence, Severity, Subject};

    fn finding(code: &str, subject: Subject, remedies: Vec<Remedy>) -> Finding {
        Finding {
            code: code.to_owned(),
            severity: Severity::Warning,
            title: format!("{code} title"),
            subject,
            time_range: None,
            summary: String::new(),
            evidence: Evidence::default(),
            thresholds: Vec::new(),
            remedies,
        }
    }

    fn yaml(namespace: &str, hard: &str) -> Remedy {
        Remedy {
            title: "Cap with a ResourceQuota".to_owned(),
            kind: RemedyKind::Yaml,
            body: format!(
                "# namespace: commented\napiVersion: v1\nkind: ResourceQuota\nmetadata:\n  name: jobs.batch-count\n  \
                 namespace: {namespace}\nspec:\n  hard:\n    count/jobs.batch: {hard}\n"
            ),
            safety: Safety::ReviewFirst,
        }
    }

    fn advice(title: &str) -> Remedy {
        Remedy {
            title: title.to_owned(),
            kind: RemedyKind::Advice,
            body: title.to_owned(),
            safety: Safety::Safe,
        }
    }

    fn quota_bodies(f: &Finding) -> Vec<&str> {
        f.remedies.iter().filter(|r| quota_of(r).is_some()).map(|r| r.body.as_str()).collect()
    }

    fn leak() -> Vec<Finding> {
        let resource = |name: &str| Subject::new("resource", name);
        vec![
            finding(
                "AUD008",
                resource("jobs.batch in namespace reporting"),
                vec![advice("count"), yaml("reporting", "'2200'")],
            ),
            finding("MET002", resource("jobs.batch"), vec![yaml("NAMESPACE", "\"1000\""), advice("follow")]),
            finding("ETC008", resource("jobs.batch"), vec![yaml("\"reporting\"", "\"13800\"")]),
        ]
    }

    #[test]
    fn one_leak_seen_by_audit_metrics_and_etcd_offers_one_quota() {
        let mut findings = leak();
        one_remedy_per_problem(&mut findings);
        assert_eq!(findings.len(), 3, "every finding stays");
        assert!(quota_bodies(&findings[0]).is_empty(), "{:?}", findings[0].remedies);
        assert!(quota_bodies(&findings[1]).is_empty(), "{:?}", findings[1].remedies);
        assert_eq!(quota_bodies(&findings[2]).len(), 1);
        assert!(quota_bodies(&findings[2])[0].contains("13800"));
        for f in &findings[..2] {
            assert_eq!(f.remedies.len(), 2, "the quota replaced, the rest kept: {:?}", f.remedies);
            let note = f.remedies.iter().find(|r| r.title.contains("is with ETC008")).expect("a note");
            assert_eq!(note.kind, RemedyKind::Advice);
            // On-call review 52, item 6: the pointer to a quota that can block every create was
            // "[safe to apply]"; it is as safe as the quota it replaces.
            assert_eq!(note.safety, Safety::ReviewFirst);
            assert!(!note.body.contains('\n'), "{}", note.body);
            assert!(
                note.body.contains("jobs.batch in namespace reporting") && note.body.contains("ETC008 title")
            );
        }
        // Once: a second pass changes nothing.
        let again = findings.clone();
        one_remedy_per_problem(&mut findings);
        assert_eq!(findings, again);
    }

    #[test]
    fn one_leak_without_etcd_keeps_the_quota_that_names_the_namespace() {
        let mut findings = leak();
        findings.truncate(2);
        one_remedy_per_problem(&mut findings);
        assert_eq!(quota_bodies(&findings[0]).len(), 1, "AUD008 names reporting");
        assert!(quota_bodies(&findings[1]).is_empty());
        assert!(findings[1].remedies[0].title.contains("is with AUD008"));
    }

    #[test]
    fn quotas_of_other_namespaces_or_resources_are_left_alone() {
        let mut findings = leak();
        findings[0].remedies[1] = yaml("other", "'2200'");
        findings[1].remedies[0].body = findings[1].remedies[0].body.replace("count/jobs.batch", "count/pods");
        let before = findings.clone();
        one_remedy_per_problem(&mut findings);
        assert_eq!(findings, before);
        // A lone finding keeps its quota too.
        let mut alone = vec![leak().remove(0)];
        let before = alone.clone();
        one_remedy_per_problem(&mut alone);
        assert_eq!(alone, before);
    }

    fn patch(webhook: &str) -> Remedy {
        Remedy {
            title: format!("Make webhook {webhook} fail open"),
            kind: RemedyKind::Command,
            body: format!(
                "kubectl patch mutatingwebhookconfigurations cfg --type=strategic -p '{{\"webhooks\":[{{\"name\":\"{webhook}\"}}]}}'"
            ),
            safety: Safety::ReviewFirst,
        }
    }

    #[test]
    fn one_failing_webhook_seen_by_audit_metrics_and_manifests_offers_its_patches_once() {
        let hook = || Subject::new("webhook", "mutate.kyverno.svc-fail");
        let mut findings = vec![
            finding("AUD007", hook(), vec![patch("mutate.kyverno.svc-fail"), advice("check the service")]),
            finding("MET009", hook(), vec![patch("mutate.kyverno.svc-fail"), advice("follow")]),
            finding("MET008", hook(), vec![advice("narrow")]),
            finding(
                "WHK001",
                hook(),
                vec![patch("mutate.kyverno.svc-fail"), patch("mutate.kyverno.svc-fail")],
            ),
            finding("AUD007", Subject::new("webhook", "other"), vec![patch("other")]),
        ];
        let mut before = findings.clone();
        one_remedy_per_problem(&mut findings);
        for f in &findings[..2] {
            assert!(!f.remedies.iter().any(|r| r.kind == RemedyKind::Command), "{:?}", f.remedies);
            assert_eq!(f.remedies.len(), 2);
            assert!(f.remedies[0].title.contains("the patches are with WHK001"));
            assert_eq!(f.remedies[0].safety, Safety::ReviewFirst, "as WHK001's patches are");
        }
        before[0].remedies[0] = findings[0].remedies[0].clone();
        before[1].remedies[0] = findings[1].remedies[0].clone();
        assert_eq!(findings, before, "MET008, WHK001 and another webhook's finding unchanged");
    }

    /// Reviewer item 2: MET002's "Delete finished Jobs" deleted every succeeded Job in the
    /// cluster (`kubectl get jobs.batch -A … | xargs … kubectl delete`), kube-system's and the
    /// ones GitOps tools manage, with no dry run, while AUD008 of the same report named the
    /// namespace they leak in.
    #[test]
    fn met002_deleted_every_finished_job_in_the_cluster_while_aud008_named_the_namespace() {
        let aud008_remedies = || {
            vec![Remedy {
                title: "Delete the Jobs that already succeeded".into(),
                kind: RemedyKind::Command,
                body: findings::text::delete_completed_jobs(Some("reporting")),
                safety: Safety::ReviewFirst,
            }]
        };
        let mut findings = vec![
            finding(
                "AUD008",
                Subject::new("resource", "jobs.batch in namespace reporting"),
                aud008_remedies(),
            ),
            finding(
                "MET002",
                Subject::new("resource", "jobs.batch"),
                metrics::checks::cleanup_remedies("jobs.batch"),
            ),
        ];
        // Alone (scrapes only), MET002's delete is outside kube-system, listed and dry-run first.
        let alone = &findings[1].remedies;
        let delete = alone.iter().find(|r| r.title.starts_with("Delete finished Jobs")).expect("delete");
        assert_eq!(delete.safety, Safety::ReviewFirst);
        assert!(delete.body.contains(r#"(ne .metadata.namespace "kube-system")"#), "{}", delete.body);
        assert!(delete.body.contains(r#"{{if eq .kind "CronJob"}}"#), "{}", delete.body);
        let list = delete.body.find("> finished-jobs.txt").expect("listed into a file");
        let dry = delete.body.find("--dry-run=server").expect("a dry run");
        let real = delete.body.rfind("kubectl delete jobs.batch").expect("the delete");
        assert!(list < dry && dry < real, "{}", delete.body);
        one_remedy_per_problem(&mut findings);
        let text =
            |f: &Finding| f.remedies.iter().map(|r| format!("{}\n{}\n", r.title, r.body)).collect::<String>();
        let met002 = text(&findings[1]);
        assert!(
            !findings[1]
                .remedies
                .iter()
                .any(|r| r.body.contains("kubectl delete") && r.body.contains(" -A ")),
            "{met002}"
        );
        assert!(
            met002.contains("Delete finished Jobs in namespace reporting, where AUD008 sees them leak"),
            "{met002}"
        );
        assert!(met002.contains("kubectl get jobs.batch -n reporting -o go-template="), "{met002}");
        assert!(
            met002.contains(
                "xargs -r -n 100 kubectl delete jobs.batch -n reporting --dry-run=server < finished-jobs.txt"
            ),
            "{met002}"
        );
        // AUD008's own pipeline there points at MET002's: the commands once.
        let aud008 = &findings[0].remedies[0];
        assert_eq!(aud008.kind, RemedyKind::Advice);
        assert_eq!(aud008.title, "Delete finished Jobs in namespace reporting: the commands are with MET002");
        // Audit log alone: AUD008's delete takes the reviewed form.
        let mut alone = vec![finding(
            "AUD008",
            Subject::new("resource", "jobs.batch in namespace reporting"),
            aud008_remedies(),
        )];
        one_remedy_per_problem(&mut alone);
        assert_eq!(alone[0].remedies[0].body, findings::text::delete_finished_jobs(Some("reporting")));
        // Once: a second pass changes nothing.
        let again = findings.clone();
        one_remedy_per_problem(&mut findings);
        assert_eq!(findings, again);
    }
}
