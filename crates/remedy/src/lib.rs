//! Remedies as Kubernetes YAML and commands: FlowSchema and PriorityLevelConfiguration,
//! ResourceQuota, cleanup, webhook patches, client tuning advice.
//!
//! Every function returns [`findings::Remedy`] values (or the YAML text) and never touches a
//! cluster: applying them is the user's decision, which is why most are marked
//! [`findings::Safety::ReviewFirst`].

mod advice;
mod cleanup;
mod flowcontrol;
mod quota;
mod version;
mod webhook;

pub use advice::{ClientPattern, tuning_advice};
pub use cleanup::cleanup_remedies;
pub use flowcontrol::{
    ApfSubject, ResourceRule, ThrottlePlan, already_rejected, groups_seen, throttle_manifests,
    throttle_remedies,
};
pub use quota::{object_count_quota, quota_key};
pub use version::{FlowControlApi, KubernetesVersion, VersionError};
pub use webhook::{
    KnownWebhook, WebhookKind, WebhookRef, fail_open_patch, known_webhook_remedies, namespace_selector_patch,
    webhook_remedies,
};

/// Errors writing a remedy.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RemedyError {
    /// The YAML serializer refused a value (a bug: our shapes are plain maps and strings).
    #[error("cannot write remedy YAML: {0}")]
    Yaml(#[from] yaml_serde::Error),
}

/// `text` as a DNS label usable in an object name: lower case, `[a-z0-9-]`, at most `max`
/// characters, never empty. A label cut short ends in eight hexadecimal digits of a hash of
/// the whole text, so that two long texts alike in their first characters (the controllers of
/// kube-controller-manager) keep different names.
pub(crate) fn dns_label(text: &str, max: usize) -> String {
    let full = label_chars(text, usize::MAX);
    if full.len() <= max {
        return full;
    }
    // FNV-1a, 32 bits: stable across runs and versions, unlike the standard library's hasher.
    let hash = text.bytes().fold(0x811c_9dc5_u32, |h, b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193));
    let head = label_chars(text, max.saturating_sub(9).max(1));
    format!("{head}-{hash:08x}")
}

fn label_chars(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max));
    let mut last_dash = true;
    for c in text.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_alphanumeric() {
            out.push(c);
            last_dash = false;
        } else if !last_dash {
            out.push('-');
            last_dash = true;
        }
        if out.len() >= max {
            break;
        }
    }
    let trimmed = out.trim_matches('-');
    if trimmed.is_empty() { "client".to_owned() } else { trimmed.to_owned() }
}

/// `text` quoted for a POSIX shell (single quotes), so names from input cannot inject commands.
pub fn shell_quote(text: &str) -> String {
    if !text.is_empty() && text.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:=@".contains(c)) {
        return text.to_owned();
    }
    format!("'{}'", text.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_labels_are_valid_whatever_the_input() {
        assert_eq!(
            dns_label("kube-controller-manager/job-controller", 63),
            "kube-controller-manager-job-controller"
        );
        assert_eq!(dns_label("Go-http-client", 63), "go-http-client");
        assert_eq!(dns_label("system:serviceaccount:ci:Runner!!", 63), "system-serviceaccount-ci-runner");
        assert_eq!(dns_label("---", 63), "client");
        assert_eq!(dns_label("", 63), "client");
        let long = dns_label(&"a".repeat(300), 20);
        assert_eq!(long.len(), 20);
        assert!(!dns_label("abc-def-ghi", 4).ends_with('-'));
    }

    #[test]
    fn long_texts_alike_at_the_start_keep_different_labels() {
        let name = |controller: &str| {
            dns_label(&format!("kube-controller-manager/system:serviceaccount:kube-system:{controller}"), 54)
        };
        let (job, cronjob) = (name("job-controller"), name("cronjob-controller"));
        assert_ne!(job, cronjob);
        for label in [&job, &cronjob] {
            assert!(label.len() <= 54, "{label}");
            assert!(label.starts_with("kube-controller-manager-system-serviceaccount-"), "{label}");
            assert!(
                label.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "{label}"
            );
        }
        // The same text, the same label, run after run.
        assert_eq!(name("job-controller"), job);
        assert_eq!(dns_label("short-enough", 54), "short-enough");
    }

    #[test]
    fn shell_quote_neutralises_metacharacters() {
        assert_eq!(shell_quote("kube-system"), "kube-system");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("x'; rm -rf /"), r"'x'\''; rm -rf /'");
        assert_eq!(shell_quote(""), "''");
    }
}
