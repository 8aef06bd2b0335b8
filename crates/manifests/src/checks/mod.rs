//! The webhook and API Priority and Fairness checks (codes `WHK…`, `APF…`), one file each. They read [`Manifests`] (and the names of
//! webhooks other evidence shows failing) only: no I/O, no printing.

use std::collections::{BTreeMap, BTreeSet};

use findings::{CheckInfo, Finding};

use crate::Manifests;

pub mod apf001_dangling_flow_schema;
pub mod apf002_exempt_flow_schema;
pub mod whk001_webhook_deadlock;

const INFOS: [CheckInfo; 3] =
    [whk001_webhook_deadlock::INFO, apf001_dangling_flow_schema::INFO, apf002_exempt_flow_schema::INFO];

/// Every webhook check, in registry order.
pub fn infos() -> &'static [CheckInfo] {
    &INFOS
}

/// What the checks read besides the manifests.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// Webhooks that other findings show failing now: webhook name → the codes of those
    /// findings (`AUD007`, `MET009`).
    pub failing: BTreeMap<String, BTreeSet<String>>,
    /// The hosts the failure messages of those findings call (`kyverno-svc.kyverno.svc`), by
    /// webhook name: they tell apart configurations that hold webhooks of the same name.
    pub failing_hosts: BTreeMap<String, BTreeSet<String>>,
    /// Thresholds in force (`--config`).
    pub thresholds: findings::Thresholds,
}

impl Context {
    /// Notes a finding that shows a webhook failing now (AUD007, MET009; others are ignored):
    /// its code, and the hosts its failure messages name.
    pub fn add_failing(&mut self, f: &Finding) {
        if !((f.code == "AUD007" || f.code == "MET009") && f.subject.kind == "webhook") {
            return;
        }
        self.failing.entry(f.subject.name.clone()).or_default().insert(f.code.clone());
        let hosts = failure_hosts(f);
        if !hosts.is_empty() {
            self.failing_hosts.entry(f.subject.name.clone()).or_default().extend(hosts);
        }
    }
}

/// The hosts a failing-webhook finding's messages name: its example failures (AUD007's
/// table) and its summary.
pub(crate) fn failure_hosts(f: &Finding) -> BTreeSet<String> {
    let mut texts: Vec<&str> = vec![f.summary.as_str()];
    if let Some(t) = &f.evidence.table {
        texts.extend(t.rows.iter().flatten().map(String::as_str));
    }
    texts.into_iter().filter_map(crate::webhook::url_host).collect()
}

/// Runs every webhook check; findings come in registry order.
pub fn run(manifests: &Manifests, ctx: &Context) -> Vec<Finding> {
    let mut out = Vec::new();
    whk001_webhook_deadlock::run(manifests, ctx, &mut out);
    apf001_dangling_flow_schema::run(manifests, ctx, &mut out);
    apf002_exempt_flow_schema::run(manifests, ctx, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_check_has_a_unique_code_and_the_fixed_doc_headings() {
        for info in infos() {
            assert!(info.code.starts_with("WHK") || info.code.starts_with("APF"), "{}", info.code);
            assert_eq!(info.missing_doc_heading(), None, "{}: a heading missing or out of order", info.code);
        }
    }
}
