//! Admission webhook configurations (and the Namespaces they select) and API Priority and
//! Fairness objects read from manifests, and their checks (codes `WHK…`, `APF…`).
//!
//! The manifests are what `kubectl get mutatingwebhookconfigurations,validatingwebhookconfigurations,
//! flowschemas,prioritylevelconfigurations,namespaces -o yaml` prints, an install manifest (`helm template`, a release's YAML), or a directory of
//! such files: YAML (one or many documents) or JSON, single objects or `List`s. Objects of other
//! kinds are counted and left out. A document that cannot be read is reported with its file
//! and line and skipped; the others are kept.

pub mod apf;
pub mod checks;
pub mod followups;
pub mod load;
pub mod report;
pub mod selector;
pub mod throttle;
pub mod webhook;

pub use apf::{FlowSchema, FlowSubject, PriorityLevel, Request, ResourceRule, classify};
pub use load::{FileSummary, LoadError, Manifests, Problem, Workload, load_paths, parse_text};
pub use selector::{LabelSelector, Operator, Requirement};
pub use webhook::{FailurePolicy, Rule, ServiceRef, Webhook, WebhookConfiguration};

/// Rewrites other checks' remedies with what the manifests know: each proposed throttle is
/// checked against the FlowSchemas and priority levels ([`throttle::verify_throttles`]), and
/// each failing webhook's patch is written from its configuration
/// ([`checks::whk001_webhook_deadlock::refine_failing_webhooks`]).
pub fn refine_remedies(findings: &mut [findings::Finding], m: &Manifests) {
    throttle::verify_throttles(findings, m);
    throttle::name_the_throttle_holding(findings, m);
    checks::whk001_webhook_deadlock::refine_failing_webhooks(findings, m);
}

/// The property the fuzzer checks on arbitrary bytes: reading them as a manifest file and
/// running every check never panics, every object counted is kept, and every finding points
/// at the file. Public for the fuzz target and the corpus replay test.
#[doc(hidden)]
pub fn fuzz_check(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut m = Manifests::default();
    parse_text("fuzz.yaml", &text, &mut m);
    let f = &m.files[0];
    assert_eq!(f.webhook_configurations as usize, m.webhook_configurations.len());
    assert_eq!(f.flow_schemas as usize, m.flow_schemas.len());
    assert_eq!(f.priority_levels as usize, m.priority_levels.len());
    // Judge every webhook as failing too, so the remedies of both severities are written.
    let mut ctx = checks::Context::default();
    for c in &m.webhook_configurations {
        for w in &c.webhooks {
            ctx.failing.entry(w.name.clone()).or_default().insert("AUD007".to_owned());
        }
    }
    for finding in checks::run(&m, &checks::Context::default()).into_iter().chain(checks::run(&m, &ctx)) {
        assert!(finding.evidence.source.starts_with("manifests:fuzz.yaml:"), "{}", finding.evidence.source);
        assert!(!finding.remedies.is_empty());
    }
    let _ = report::inputs(&m);
    // The same text as a proposed throttle, judged against what was read.
    let mut proposed = vec![findings::Finding {
        code: "AUD004".to_owned(),
        severity: findings::Severity::Warning,
        title: String::new(),
        subject: findings::Subject::new("client", "fuzz"),
        time_range: None,
        summary: String::new(),
        evidence: findings::Evidence::default(),
        thresholds: Vec::new(),
        remedies: vec![findings::Remedy {
            title: String::new(),
            kind: findings::RemedyKind::Yaml,
            body: text.into_owned(),
            safety: findings::Safety::ReviewFirst,
        }],
    }];
    refine_remedies(&mut proposed, &m);
}
