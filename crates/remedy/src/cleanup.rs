//! Cleanup commands for objects that pile up in etcd, by resource.

use findings::{Remedy, RemedyKind, Safety};

use crate::shell_quote;

/// Remedies that remove leaked objects of `resource` in `namespace` (`None`: every namespace)
/// and keep them from piling up again. First the command that counts them: it lists every one
/// through the API server, so it is review first with MET002's note on when to run it
/// ([`findings::text::FULL_LIST_NOTE`]; docs review 51, item 1.2: it was marked safe).
pub fn cleanup_remedies(resource: &str, api_group: &str, namespace: Option<&str>) -> Vec<Remedy> {
    let qualified =
        if api_group.is_empty() { resource.to_owned() } else { format!("{resource}.{api_group}") };
    let scope = match namespace {
        Some(ns) => format!("-n {}", shell_quote(ns)),
        None => "--all-namespaces".to_owned(),
    };
    let kind = shell_quote(&qualified);
    let mut out = vec![Remedy {
        // The plural resource name alone: "Count the pods", not "the pods objects" (UX review).
        title: format!("Count the {resource} that exist now"),
        kind: RemedyKind::Command,
        body: format!("{}kubectl get {kind} {scope} --no-headers | wc -l", findings::text::FULL_LIST_NOTE),
        safety: Safety::ReviewFirst,
    }];
    match (resource, api_group) {
        ("jobs", "batch") => {
            out.push(Remedy {
                title: "Delete the Jobs that already succeeded".to_owned(),
                kind: RemedyKind::Command,
                body: findings::text::delete_completed_jobs(namespace),
                safety: Safety::ReviewFirst,
            });
            out.push(Remedy {
                title: "Let Kubernetes delete finished Jobs: set ttlSecondsAfterFinished".to_owned(),
                kind: RemedyKind::Advice,
                body: "Set `spec.ttlSecondsAfterFinished` on the Jobs the client creates (for a CronJob, in \
                       `spec.jobTemplate.spec`, and keep `successfulJobsHistoryLimit` / \
                       `failedJobsHistoryLimit` small), for example:\n\n\
                       spec:\n  ttlSecondsAfterFinished: 3600\n\n\
                       The TTL controller then deletes each Job, and through owner references its Pods, an \
                       hour after it finishes."
                    .to_owned(),
                safety: Safety::ReviewFirst,
            });
        }
        ("pods", "") => out.push(Remedy {
            title: "Delete Pods that have finished".to_owned(),
            kind: RemedyKind::Command,
            body: format!(
                "kubectl delete pods {scope} --field-selector status.phase==Succeeded\n\
                 kubectl delete pods {scope} --field-selector status.phase==Failed"
            ),
            safety: Safety::ReviewFirst,
        }),
        ("events", "") | ("events", "events.k8s.io") => out.push(Remedy {
            title: "Shorten how long events live".to_owned(),
            kind: RemedyKind::Advice,
            body: "Events expire after the kube-apiserver's `--event-ttl` (default 1h). Find the component that \
                   emits them in a loop (the churn finding names the client) and fix it; on self-managed \
                   clusters a shorter `--event-ttl` bounds how many pile up."
                .to_owned(),
            safety: Safety::ReviewFirst,
        }),
        _ => {}
    }
    out.push(Remedy {
        title: format!("Delete {resource} in bulk by label, and give them owners"),
        kind: RemedyKind::Command,
        body: format!(
            "# Label what the client creates, then delete by label (check the selector with `get` first):\n\
             kubectl get {kind} {scope} -l app.kubernetes.io/managed-by=CLIENT\n\
             kubectl delete {kind} {scope} -l app.kubernetes.io/managed-by=CLIENT\n\
             # Objects with ownerReferences to a parent are garbage-collected with it."
        ),
        safety: Safety::ReviewFirst,
    });
    out
}
