//! The server-side dry run before every change a remedy makes (reviewer item 8: `throttle` and
//! `quota` said to dry-run first, `diagnose`'s remedies never did). Applied once to the merged
//! findings, whatever check or crate wrote the remedy.

use crate::text::{server_dry_run_first, server_dry_run_then_apply, yaml_file_name};
use crate::{Finding, Remedy, RemedyKind};

/// The flag every dry run below adds: the API server admits and validates the request (its
/// webhooks too) and stores nothing.
const SERVER_DRY_RUN: &str = "--dry-run=server";

/// The `kubectl` verbs that change objects: each command of them gets its dry run first.
const CHANGING: &[&str] =
    &["kubectl apply", "kubectl patch", "kubectl label", "kubectl annotate", "kubectl delete"];

/// Every remedy of `findings` with its dry run first ([`with_dry_run_first`]).
pub fn dry_run_first(findings: &mut [Finding]) {
    for r in findings.iter_mut().flat_map(|f| f.remedies.iter_mut()) {
        with_dry_run_first(r);
    }
}

/// `remedy` with its server-side dry run first: a YAML one starts with the comment that says
/// to apply it with `--dry-run=server` before applying it (in the words of `throttle` and
/// `quota`); in a command one, each command that changes an object is preceded by itself
/// with `--dry-run=server`. A remedy that already holds a dry run, and advice, stay as they
/// are, so that running this twice changes nothing.
pub fn with_dry_run_first(remedy: &mut Remedy) {
    if remedy.body.contains(SERVER_DRY_RUN) {
        return;
    }
    match remedy.kind {
        RemedyKind::Yaml => {
            let file = yaml_file_name(&remedy.body);
            remedy.body = format!("# {}\n{}", server_dry_run_first(&file), remedy.body);
        }
        RemedyKind::Command => remedy.body = commands_with_dry_runs(&remedy.body),
        RemedyKind::Advice => {}
    }
}

/// `body`'s shell commands, each one that changes an object ([`CHANGING`]) preceded by a
/// comment and itself with `--dry-run=server` appended (after its last continued line). A
/// command run through `sh -c '…'` is left alone: the flag would reach `sh`, not `kubectl`.
fn commands_with_dry_runs(body: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut command: Vec<&str> = Vec::new();
    for line in body.lines() {
        command.push(line);
        if line.trim_end().ends_with('\\') {
            continue;
        }
        let whole = command.join("\n");
        let comment = command.first().is_some_and(|l| l.trim_start().starts_with('#'));
        if !comment && !whole.contains("sh -c") && CHANGING.iter().any(|verb| whole.contains(verb)) {
            out.push(format!(
                "# {}",
                server_dry_run_then_apply(&format!("the next command, with `{SERVER_DRY_RUN}`"))
            ));
            let last = command.len() - 1;
            for (i, l) in command.iter().enumerate() {
                out.push(if i == last {
                    format!("{} {SERVER_DRY_RUN}", l.trim_end())
                } else {
                    (*l).to_owned()
                });
            }
        }
        out.extend(command.drain(..).map(str::to_owned));
    }
    // A body that ends inside a continued line: kept as it is.
    out.extend(command.drain(..).map(str::to_owned));
    let mut text = out.join("\n");
    if body.ends_with('\n') {
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Safety;

    fn remedy(kind: RemedyKind, body: &str) -> Remedy {
        Remedy { title: "t".into(), kind, body: body.into(), safety: Safety::ReviewFirst }
    }

    /// Reviewer item 8: `diagnose` never said to dry-run first, where `throttle` and `quota`
    /// print "Review first (a server-side dry run: …), then apply".
    #[test]
    fn diagnose_remedies_never_said_to_dry_run_first() {
        let mut yaml = remedy(
            RemedyKind::Yaml,
            "apiVersion: v1\nkind: ResourceQuota\nmetadata:\n  name: jobs.batch-count\n  namespace: reporting\n",
        );
        with_dry_run_first(&mut yaml);
        assert!(
            yaml.body.starts_with(
                "# Review first (a server-side dry run: `kubectl apply --dry-run=server -f jobs.batch-count.yaml`), then apply.\napiVersion: v1\n"
            ),
            "{}",
            yaml.body
        );
        let mut patch = remedy(
            RemedyKind::Command,
            "# why\nkubectl patch validatingwebhookconfigurations cfg --type=strategic -p '{\"webhooks\":[]}'\n\
             kubectl label namespace kube-system team=true --overwrite\n\
             kubectl get jobs.batch -n a -o name \\\n  | xargs -r -n 100 kubectl delete jobs.batch -n a\n\
             kubectl get pods -A",
        );
        with_dry_run_first(&mut patch);
        let dry =
            "# Review first (a server-side dry run: the next command, with `--dry-run=server`), then apply.";
        assert_eq!(
            patch.body,
            format!(
                "# why\n{dry}\nkubectl patch validatingwebhookconfigurations cfg --type=strategic -p '{{\"webhooks\":[]}}' --dry-run=server\n\
                 kubectl patch validatingwebhookconfigurations cfg --type=strategic -p '{{\"webhooks\":[]}}'\n\
                 {dry}\nkubectl label namespace kube-system team=true --overwrite --dry-run=server\n\
                 kubectl label namespace kube-system team=true --overwrite\n\
                 {dry}\nkubectl get jobs.batch -n a -o name \\\n  | xargs -r -n 100 kubectl delete jobs.batch -n a --dry-run=server\n\
                 kubectl get jobs.batch -n a -o name \\\n  | xargs -r -n 100 kubectl delete jobs.batch -n a\n\
                 kubectl get pods -A"
            )
        );
        // Once is enough: a second pass, or a remedy that has its dry run, is left as it is.
        let before = (yaml.body.clone(), patch.body.clone());
        with_dry_run_first(&mut yaml);
        with_dry_run_first(&mut patch);
        assert_eq!((yaml.body, patch.body), before);
        // `sh -c '…'`: the flag would reach sh.
        let mut sh = remedy(RemedyKind::Command, "xargs -n 2 sh -c 'kubectl delete jobs -n \"$0\" \"$1\"'");
        with_dry_run_first(&mut sh);
        assert!(!sh.body.contains("--dry-run"), "{}", sh.body);
        // Advice is read, not run.
        let mut advice = remedy(RemedyKind::Advice, "Run `kubectl delete pods x`.");
        with_dry_run_first(&mut advice);
        assert_eq!(advice.body, "Run `kubectl delete pods x`.");
    }
}
