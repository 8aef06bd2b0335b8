//! ETC008 etcd-object-count: keys of one resource type in etcd against the thresholds.

use findings::{
    CheckInfo, EvidenceKind, Finding, Measure, Severity, Subject, Table, Thresholds, threshold_names as n,
};
use metrics::checks::{Draft, critical_phrase, format_bytes, format_count, format_percent};

use crate::EtcdEvidence;

/// ETC008.
pub const INFO: CheckInfo = CheckInfo {
    code: "ETC008",
    name: "etcd-object-count",
    default_severity: Severity::Warning,
    evidence: EvidenceKind::Etcd,
    thresholds: &[n::OBJECTS_PER_TYPE_WARNING, n::EVENTS_CRITICAL, n::OBJECTS_PER_TYPE_CRITICAL],
    doc: r#"## What it detects
Resource types with more keys in etcd than the thresholds (over 10,000 a warning, over
150,000 critical; events 1,000,000), counted by scanning the keys under the prefix and reading
each key as `/registry/<resource>/<namespace>/<name>`, `/registry/<group>/<resource>/…` for
custom and aggregated resources, or `/registry/<resource>/<name>` for cluster-scoped ones.
The finding names the namespace with the most of them, its share, how many namespaces hold
the rest (when none holds a majority), and the bytes they take; the evidence lists the top
five namespaces.

## Why it matters
The same as for the API server's object counts: every LIST reads them all, the watch cache
holds them, and the database grows toward its quota. Counting keys works when the API
server's metrics are not available, and gives bytes and namespaces as well.

## Example
`jobs.batch`: 48,210 keys, 310.2 MiB, most in namespace `ci` (46,000, 95%).

## Remedy
Delete what is no longer needed in the namespaces that hold most of them, let Kubernetes
clean up (`ttlSecondsAfterFinished`, `revisionHistoryLimit`), and cap the count with a
ResourceQuota. When one namespace holds them all, the commands act there alone and the quota
is written for it, above the count there now so that creates are not refused at once. A resource whose keys hold no namespace is cluster-scoped: no ResourceQuota
can cap it, so the remedies name the controller that writes the objects and the oldest
instead.

## References
- AKS: troubleshoot API server and etcd problems: https://learn.microsoft.com/troubleshoot/azure/azure-kubernetes/create-upgrade-delete/troubleshoot-apiserver-etcd
- SIG-scalability thresholds: https://github.com/kubernetes/community/blob/master/sig-scalability/configs-and-limits/thresholds.md
"#,
};

/// `k` of `total` in percent.
fn share(k: u64, total: u64) -> f64 {
    if total == 0 { 0.0 } else { k as f64 * 100.0 / total as f64 }
}

/// Where the keys are: `, all in namespace `ci` (10,001)`, `, most in namespace `ci` (9,000,
/// 90%)`, or, when no namespace holds a majority, the largest share and how many namespaces
/// share the rest (`most` would send someone to clean one namespace of seven).
fn where_phrase(r: &crate::keys::ResourceStats) -> String {
    let Some((ns, k)) = r.top_namespace.as_ref() else { return String::new() };
    let ns = findings::text::literal_backticks(ns);
    let count = format_count(*k as f64);
    let pct = format_percent(share(*k, r.keys));
    if r.namespaces == 1 && *k == r.keys {
        format!(", all in namespace `{ns}` ({count})")
    } else if *k * 2 > r.keys {
        format!(", most in namespace `{ns}` ({count}, {pct})")
    } else {
        format!(", the largest share in namespace `{ns}` ({count}, {pct}) of {} namespaces", r.namespaces)
    }
}

/// Runs ETC008.
pub fn run(ev: &EtcdEvidence, t: &Thresholds, out: &mut Vec<Finding>) {
    let Some(keys) = &ev.keys else { return };
    let source = ev.members.first().map(|m| m.source()).unwrap_or_else(|| "etcd".to_owned());
    for r in &keys.resources {
        let count = r.keys as f64;
        let events = r.resource == "events" || r.resource == "events.events.k8s.io";
        let warn = t.value(n::OBJECTS_PER_TYPE_WARNING);
        let (crit, crit_name) = if events {
            (t.value(n::EVENTS_CRITICAL), n::EVENTS_CRITICAL)
        } else {
            (t.value(n::OBJECTS_PER_TYPE_CRITICAL), n::OBJECTS_PER_TYPE_CRITICAL)
        };
        if count <= warn {
            continue;
        }
        let severity = if count > crit { Severity::Critical } else { Severity::Warning };
        let where_ = where_phrase(r);
        // Without value sizes (a keys-only scan) the byte counts are unknown, not zero.
        let size = if keys.values_read {
            format!(" ({})", format_bytes(r.value_bytes as f64))
        } else {
            String::new()
        };
        let taking = if keys.values_read {
            format!(" taking {}", format_bytes(r.value_bytes as f64))
        } else {
            String::new()
        };
        let mut measures = vec![Measure::new("keys", count, "count")];
        if keys.values_read {
            measures.push(Measure::new("value bytes", r.value_bytes as f64, "bytes"));
        }
        measures.push(Measure::new("namespaces", r.namespaces as f64, "count"));
        out.push(
            Draft {
                severity,
                title: format!("{} {} keys in etcd{size}{where_}", format_count(count), r.resource),
                subject: Subject::new("resource", r.resource.clone()),
                summary: format!(
                    "etcd holds {} {} objects{taking} under `{}`{where_}. Above {} objects of one type every LIST, the watch cache and the database suffer; {}.",
                    format_count(count),
                    r.resource,
                    findings::text::literal_backticks(&keys.prefix),
                    format_count(warn),
                    critical_phrase(t, crit_name, crit)
                ),
                source: source.clone(),
                measures,
                table: (!r.top_namespaces.is_empty()).then(|| Table {
                    columns: vec!["namespace".into(), "keys".into(), "share".into()],
                    rows: r
                        .top_namespaces
                        .iter()
                        .map(|(ns, k)| {
                            vec![ns.clone(), format_count(*k as f64), format_percent(share(*k, r.keys))]
                        })
                        .collect(),
                }),
                thresholds: vec![n::OBJECTS_PER_TYPE_WARNING, crit_name],
                // The keys say the scope: a resource with keys and no namespace is cluster-scoped.
                remedies: metrics::checks::cleanup_remedies_scoped(
                    &r.resource,
                    if r.namespaces == 0 && r.top_namespace.is_none() {
                        metrics::checks::Scope::Cluster
                    } else {
                        metrics::checks::Scope::Namespaced
                    },
                    // The table above shows them per namespace; when one namespace holds them
                    // all, the commands and the quota are written for it.
                    &metrics::checks::Held {
                        namespaces_shown: !r.top_namespaces.is_empty(),
                        only_namespace: match &r.top_namespace {
                            Some((ns, k)) if *k == r.keys => Some((ns.as_str(), *k)),
                            _ => None,
                        },
                    },
                ),
            }
            .into_finding(&INFO, t),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::KeyStatsBuilder;

    /// etcd review item 8: 10,001 clusterwidgets (keys without a namespace) were given a
    /// namespace count that counts names and a namespaced ResourceQuota.
    #[test]
    fn a_cluster_scoped_resource_from_the_keys_gets_cluster_scoped_remedies() {
        let mut b = KeyStatsBuilder::new("/registry", 5);
        for i in 0..10_001 {
            b.add(&format!("/registry/example.com/clusterwidgets/cw-{i}"), 100);
        }
        let ev = EtcdEvidence { keys: Some(b.finish(1)), ..EtcdEvidence::default() };
        let mut out = Vec::new();
        run(&ev, &Thresholds::default(), &mut out);
        assert_eq!(out.len(), 1);
        let text: String = out[0].remedies.iter().map(|r| format!("{}\n{}\n", r.title, r.body)).collect();
        assert!(!text.contains("awk '{print $1}'"), "{text}");
        assert!(!text.contains("kind: ResourceQuota"), "{text}");
        assert!(text.contains("cluster-scoped"), "{text}");
    }

    /// etcd review item 10: with `objects_per_type_critical: 4000` in --config, the summary
    /// said "SIG-scalability's limit is 4,000".
    #[test]
    fn a_critical_threshold_set_by_config_is_not_credited_to_sig_scalability() {
        let mut b = KeyStatsBuilder::new("/registry", 5);
        for i in 0..10_001 {
            b.add(&format!("/registry/jobs/ci/job-{i}"), 100);
        }
        let ev = EtcdEvidence { keys: Some(b.finish(1)), ..EtcdEvidence::default() };
        let mut out = Vec::new();
        run(&ev, &Thresholds::default(), &mut out);
        assert!(
            out[0].summary.ends_with("the critical threshold is 150,000, SIG-scalability's limit."),
            "{}",
            out[0].summary
        );
        let mut t = Thresholds::default();
        t.set(n::OBJECTS_PER_TYPE_WARNING, 2000.0).expect("a known threshold");
        t.set(n::OBJECTS_PER_TYPE_CRITICAL, 4000.0).expect("a known threshold");
        let mut out = Vec::new();
        run(&ev, &t, &mut out);
        assert!(!out[0].summary.contains("SIG-scalability"), "{}", out[0].summary);
        assert!(
            out[0]
                .summary
                .ends_with("the critical threshold is 4,000 (`objects_per_type_critical`, set by --config)."),
            "{}",
            out[0].summary
        );
    }

    #[test]
    fn counts_keys_per_resource_against_the_thresholds() {
        let mut b = KeyStatsBuilder::new("/registry", 5);
        for i in 0..10_001 {
            b.add(&format!("/registry/jobs/ci/job-{i}"), 100);
        }
        for i in 0..500 {
            b.add(&format!("/registry/pods/default/p-{i}"), 100);
        }
        let ev = EtcdEvidence { keys: Some(b.finish(1)), ..EtcdEvidence::default() };
        let mut out = Vec::new();
        run(&ev, &Thresholds::default(), &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].subject.name, "jobs.batch");
        assert_eq!(out[0].severity, Severity::Warning);
        assert!(out[0].title.contains("all in namespace `ci` (10,001)"), "{}", out[0].title);
        assert!(out[0].remedies.iter().any(|r| r.body.contains("{{if .status.completionTime}}")));
    }

    /// Review s44: 12,000 Jobs all in `reporting` were given a cleanup across every namespace
    /// (`-A`, kube-system included), a command to count them per namespace that the finding's
    /// table already answers, and a quota for `NAMESPACE` at 1,000, which would refuse every
    /// new Job there at once.
    #[test]
    fn etc008_remedies_act_in_the_one_namespace_that_holds_them_all() {
        // The remedies' titles and bodies for 12,000 Jobs, the i-th in namespace `ns(i)`.
        let remedies = |ns: &dyn Fn(u32) -> String| -> String {
            let mut b = KeyStatsBuilder::new("/registry", 5);
            for i in 0..12_000 {
                b.add(&format!("/registry/jobs/{}/job-{i}", ns(i)), 100);
            }
            let ev = EtcdEvidence { keys: Some(b.finish(1)), ..EtcdEvidence::default() };
            let mut out = Vec::new();
            run(&ev, &Thresholds::default(), &mut out);
            out[0].remedies.iter().map(|r| format!("{}\n{}\n", r.title, r.body)).collect()
        };
        let text = remedies(&|_| "reporting".to_owned());
        assert!(!text.contains(" -A "), "{text}");
        assert!(!text.contains("awk '{print $1}'"), "{text}");
        assert!(
            text.contains(
                "xargs -r -n 100 kubectl delete jobs.batch -n reporting --dry-run=server < finished-jobs.txt"
            ),
            "{text}"
        );
        assert!(text.contains("Cap the count in namespace reporting"), "{text}");
        assert!(text.contains("namespace: \"reporting\"\n"), "{text}");
        assert!(text.contains("count/jobs.batch: \"13200\""), "{text}");
        assert!(text.contains("# 12,000 of them are in reporting now: this cap (13,200)"), "{text}");
        assert!(!text.contains("NAMESPACE"), "{text}");
        // A namespace YAML would read as a number is quoted.
        let text = remedies(&|_| "123".to_owned());
        assert!(text.contains("namespace: \"123\"\n"), "{text}");
        // Spread over namespaces: every namespace, and the quota left to fill in.
        let text = remedies(&|i| format!("ns{}", i % 3));
        assert!(text.contains("namespace: NAMESPACE\n"), "{text}");
        assert!(text.contains("more than the objects there now"), "{text}");
        assert!(!text.contains("awk '{print $1}'"), "{text}");
    }

    /// Review 26 §7: 10,050 jobs spread evenly over 7 namespaces gave "most in namespace ns0
    /// (1,436)" for 14% of them, and the evidence listed ns0 alone.
    #[test]
    fn etc008_names_the_largest_share_and_the_namespace_count_not_most() {
        let mut b = KeyStatsBuilder::new("/registry", 5);
        for i in 0..10_050 {
            b.add(&format!("/registry/jobs/ns{}/job-{i}", i % 7), 200);
        }
        let ev = EtcdEvidence { keys: Some(b.finish(1)), ..EtcdEvidence::default() };
        let mut out = Vec::new();
        run(&ev, &Thresholds::default(), &mut out);
        assert_eq!(out.len(), 1);
        let title = &out[0].title;
        assert!(!title.contains("most in"), "{title}");
        assert!(
            title.ends_with("the largest share in namespace `ns0` (1,436, 14%) of 7 namespaces"),
            "{title}"
        );
        let table = out[0].evidence.table.as_ref().expect("namespaces table");
        assert_eq!(table.columns, vec!["namespace", "keys", "share"]);
        let names: Vec<&str> = table.rows.iter().map(|row| row[0].as_str()).collect();
        assert_eq!(names, vec!["ns0", "ns1", "ns2", "ns3", "ns4"]);
    }
}
