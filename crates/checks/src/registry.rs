//! The one ordered registry of every check, and the documentation generated from it.

use findings::{CheckInfo, EvidenceKind, Thresholds};

use crate::audit::{AuditContext, CheckError, CheckOutput, QueryRunner};
use crate::{
    aud001_top_clients, aud002_client_latency, aud003_p99_slo, aud004_expensive_lists, aud005_slow_breakdown,
    aud006_errors, aud007_failing_webhooks, aud008_object_churn, aud009_evidence,
    aud010_webhooks_failing_open,
};

/// An audit check: its description and how to run it.
#[derive(Clone, Copy)]
pub struct AuditCheck {
    /// Its description.
    pub info: CheckInfo,
    /// Runs it over the audit events.
    pub run: fn(&AuditContext, &dyn QueryRunner) -> Result<CheckOutput, CheckError>,
}

/// The audit checks, in order.
pub const AUDIT_CHECKS: [AuditCheck; 10] = [
    AuditCheck { info: aud001_top_clients::INFO, run: aud001_top_clients::run_check },
    AuditCheck { info: aud002_client_latency::INFO, run: aud002_client_latency::run_check },
    AuditCheck { info: aud003_p99_slo::INFO, run: aud003_p99_slo::run_check },
    AuditCheck { info: aud004_expensive_lists::INFO, run: aud004_expensive_lists::run_check },
    AuditCheck { info: aud005_slow_breakdown::INFO, run: aud005_slow_breakdown::run_check },
    AuditCheck { info: aud006_errors::INFO, run: aud006_errors::run_check },
    AuditCheck { info: aud007_failing_webhooks::INFO, run: aud007_failing_webhooks::run_check },
    AuditCheck { info: aud008_object_churn::INFO, run: aud008_object_churn::run_check },
    AuditCheck { info: aud009_evidence::INFO, run: aud009_evidence::run_check },
    AuditCheck { info: aud010_webhooks_failing_open::INFO, run: aud010_webhooks_failing_open::run_check },
];

/// Every check diagnose can run, in order: audit checks, then the kube-apiserver metrics checks
/// (`metrics` crate), the etcd checks (`etcd` crate) and the webhook checks (`manifests` crate).
pub fn registry() -> Vec<CheckInfo> {
    AUDIT_CHECKS
        .iter()
        .map(|c| c.info)
        .chain(metrics::checks::infos().iter().copied())
        .chain(etcd::checks::infos().iter().copied())
        .chain(manifests::checks::infos().iter().copied())
        .chain(probe::checks::infos().iter().copied())
        .collect()
}

/// The check with this code or name (case-insensitive).
pub fn find(code_or_name: &str) -> Option<CheckInfo> {
    let wanted = code_or_name.trim();
    registry()
        .into_iter()
        .find(|c| c.code.eq_ignore_ascii_case(wanted) || c.name.eq_ignore_ascii_case(wanted))
}

/// The known code or name closest to `text`, for "did you mean".
pub fn closest(text: &str) -> Option<&'static str> {
    findings::spelling::nearest(text, registry().into_iter().flat_map(|c| [c.code, c.name]), 3)
}

/// The evidence kind as a person reads it.
pub fn evidence_name(kind: EvidenceKind) -> &'static str {
    match kind {
        EvidenceKind::Audit => "audit log",
        EvidenceKind::ApiserverMetrics => "kube-apiserver metrics",
        EvidenceKind::EtcdMetrics => "etcd metrics",
        EvidenceKind::Etcd => "live etcd",
        EvidenceKind::Manifests => "manifests",
        EvidenceKind::Network => "network probe",
    }
}

/// The first sentence of a check's "What it detects" section, on one line.
pub fn summary(info: &CheckInfo) -> String {
    let section = info.doc.split("## What it detects").nth(1).unwrap_or(info.doc);
    let para: Vec<&str> =
        section.trim_start().lines().take_while(|l| !l.trim().is_empty()).map(str::trim).collect();
    let text = para.join(" ");
    // The first paragraph of every doc is one sentence written to stand alone.
    let end = text.find(". ").map_or(text.len(), |i| i + 1);
    text[..end].to_owned()
}

/// A check's documentation as `explain` prints it.
pub fn explain(info: &CheckInfo) -> String {
    format!(
        "# {} {}\n\nSeverity at its first threshold: {} · Reads: {}\n\n{}\n\n{}",
        info.code,
        info.name,
        info.default_severity.as_str(),
        evidence_name(info.evidence),
        info.doc.trim_end(),
        thresholds_section(info, "##")
    )
}

/// The section naming the thresholds a check applies, with their defaults: the keys of the
/// `--config` file that tune it (docs review 27 §6: `explain ETC003` gave no key to change its
/// 10 ms, and the user had to guess which of 40 names applied).
fn thresholds_section(info: &CheckInfo, heading: &str) -> String {
    if info.thresholds.is_empty() {
        return format!("{heading} Thresholds\n\nNo threshold tunes it.\n");
    }
    let mut out = format!(
        "{heading} Thresholds\n\nOverridable by name under `thresholds:` in the `--config` file:\n\n\
         | name | default | meaning |\n|---|---|---|\n"
    );
    let defaults = Thresholds::default();
    for name in info.thresholds {
        if let Some(t) = defaults.iter().find(|t| t.name == *name) {
            out.push_str(&format!(
                "| `{}` | {} | {} |\n",
                t.name,
                findings::units::threshold_value(t.value, t.unit),
                t.description.replace('|', "\\|")
            ));
        }
    }
    out
}

/// `docs/checks.md`, generated from the registry and the thresholds.
pub fn checks_markdown() -> String {
    let mut out = String::from(
        "# Checks\n\n<!-- Generated by `apiserver-doctor checks --markdown > docs/checks.md`; do not edit by hand. -->\n\n\
         Every check `apiserver-doctor diagnose` runs, in the order it runs them. `apiserver-doctor explain CODE`\n\
         prints one of them. Thresholds are overridable in the file given to `--config` (see the end of this page).\n\
         A check's first severity is what it reports when its first threshold is crossed; many report critical past\n\
         a higher threshold or in the worst case (a failing webhook in kube-system, an API server no address of\n\
         which answers), as each section says.\n\n\
         | code | name | first severity | reads | what it detects |\n|---|---|---|---|---|\n",
    );
    for c in registry() {
        out.push_str(&format!(
            "| [{}](#{}) | {} | {} | {} | {} |\n",
            c.code,
            format!("{}-{}", c.code, c.name).to_ascii_lowercase(),
            c.name,
            c.default_severity.as_str(),
            evidence_name(c.evidence),
            summary(&c).replace('|', "\\|")
        ));
    }
    for c in registry() {
        out.push_str(&format!(
            "\n## {} {}\n\nSeverity at its first threshold: {} · Reads: {}\n\n",
            c.code,
            c.name,
            c.default_severity.as_str(),
            evidence_name(c.evidence)
        ));
        // The doc's own headings are `##`; one level down under the check's heading.
        for line in c.doc.trim_end().lines() {
            if line.starts_with("## ") {
                out.push('#');
            }
            out.push_str(line);
            out.push('\n');
        }
        out.push('\n');
        out.push_str(&thresholds_section(&c, "###"));
    }
    out.push_str(
        "\n## Thresholds\n\nDefaults, overridable by name in the `--config` file:\n\n```yaml\n\
         # apiserver-doctor.yaml\nkubernetes_version: \"1.29\"   # API versions of generated remedies\n\
         thresholds:\n  p99_mutating_seconds: 2\n  top_client_share_warning: 0.3\n```\n\n\
         | name | default | unit | meaning | source |\n|---|---|---|---|---|\n",
    );
    for t in Thresholds::default().iter() {
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} |\n",
            t.name,
            t.value,
            t.unit,
            t.description.replace('|', "\\|"),
            t.source
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_stable_and_in_order() {
        let codes: Vec<&str> = registry().iter().map(|c| c.code).collect();
        assert_eq!(
            codes[..10],
            [
                "AUD001", "AUD002", "AUD003", "AUD004", "AUD005", "AUD006", "AUD007", "AUD008", "AUD009",
                "AUD010"
            ]
        );
        let mut sorted = codes.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), codes.len(), "duplicate code");
        // Names are unique among the audit checks; a metrics and an etcd check may share one
        // (both judge object counts), and `find` by name gives the first.
        let mut names: Vec<&str> = AUDIT_CHECKS.iter().map(|c| c.info.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), AUDIT_CHECKS.len(), "duplicate name");
    }

    #[test]
    fn every_doc_has_the_fixed_headings_in_order_and_names_real_thresholds() {
        let known: Vec<&str> = Thresholds::default().iter().map(|t| t.name).collect();
        for c in registry() {
            assert_eq!(c.missing_doc_heading(), None, "{}: a heading missing or out of order", c.code);
            assert_eq!(
                c.doc.matches("\n## ").count() + usize::from(c.doc.starts_with("## ")),
                5,
                "{}",
                c.code
            );
            // Every `snake_case` word in backticks that looks like a threshold must be one.
            for word in c.doc.split('`').skip(1).step_by(2) {
                let looks_like = word.contains('_')
                    && word.chars().all(|ch| ch.is_ascii_lowercase() || ch == '_')
                    && (word.ends_with("_seconds")
                        || word.ends_with("_warning")
                        || word.ends_with("_critical")
                        || word.ends_with("_second")
                        || word.starts_with("min_"));
                // Metrics and etcd docs name Prometheus metrics (`…_seconds`), not thresholds.
                if looks_like && c.code.starts_with("AUD") {
                    assert!(known.contains(&word), "{}: unknown threshold `{word}` in doc", c.code);
                }
            }
        }
    }

    /// Docs review 27 (§6): `explain` named no `--config` key for the metrics and etcd checks.
    /// Each check declares its thresholds, every one a real name, and both `explain` and
    /// docs/checks.md list them with their defaults.
    #[test]
    fn explain_names_the_thresholds_a_check_applies_with_their_defaults() {
        let known: Vec<&str> = Thresholds::default().iter().map(|t| t.name).collect();
        for c in registry() {
            for name in c.thresholds {
                assert!(known.contains(name), "{}: unknown threshold {name}", c.code);
                assert!(explain(&c).contains(&format!("| `{name}` |")), "{}: {name} not in explain", c.code);
            }
        }
        let etc003 = find("ETC003").expect("ETC003");
        assert!(
            explain(&etc003)
                .contains("| `wal_fsync_p99_warning_seconds` | 0.01 s | WAL fsync P99 above which to warn |"),
            "{}",
            explain(&etc003)
        );
        assert!(
            explain(&find("WHK001").expect("WHK001")).contains("## Thresholds\n\nNo threshold tunes it.")
        );
        assert!(checks_markdown().contains("### Thresholds\n\nOverridable by name"));
    }

    #[test]
    fn find_by_code_or_name_and_suggest() {
        assert_eq!(find("aud004").map(|c| c.code), Some("AUD004"));
        assert_eq!(find("expensive-lists").map(|c| c.code), Some("AUD004"));
        assert!(find("AUD999").is_none());
        assert_eq!(closest("AUD01"), Some("AUD001"));
        assert_eq!(closest("expensive-list"), Some("expensive-lists"));
        assert_eq!(closest("completely unrelated words"), None);
    }

    #[test]
    fn summaries_are_one_sentence() {
        for c in registry() {
            let s = summary(&c);
            assert!(!s.is_empty() && !s.contains('\n') && s.ends_with('.'), "{}: {s}", c.code);
        }
    }
}
