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
mod resources;
mod version;
mod webhook;
mod yaml;

pub use advice::{ClientPattern, tuning_advice};
pub use cleanup::cleanup_remedies;
pub use flowcontrol::{
    ADDON_NAMESPACE, ADDON_USERS, ApfSubject, CONTROL_PLANE_USERS, ResourceRule, ThrottlePlan,
    already_rejected, always_exempt, built_in_apf_object, built_in_schema_first, groups_seen,
    lease_schema_name, throttle_manifests, throttle_remedies,
};
pub use quota::{object_count_quota, quota_key};
pub use resources::{is_cluster_scoped, resource_mistake};
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

/// Whether `s` is a DNS-1123 label, as Kubernetes validates namespace names: 1 to 63 lower case
/// letters, digits and `-`, beginning and ending with a letter or digit.
pub fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.ends_with(|c: char| c.is_ascii_alphanumeric())
}

/// Whether `s` is a DNS-1123 subdomain, as Kubernetes validates most object names (service
/// accounts, FlowSchemas): at most 253 characters, labels between dots as [`is_dns_label`]
/// (without its 63-character limit).
pub fn is_dns_subdomain(s: &str) -> bool {
    s.len() <= 253
        && s.split('.').all(|part| {
            !part.is_empty()
                && part.bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
                && part.starts_with(|c: char| c.is_ascii_alphanumeric())
                && part.ends_with(|c: char| c.is_ascii_alphanumeric())
        })
}

/// The first characters of `head` as a label, then `-` and eight hexadecimal digits of a hash of
/// `whole` (what the label stands for, which `head` may render only in part): at most `max`
/// characters.
pub(crate) fn hashed_label_of(head: &str, whole: &str, max: usize) -> String {
    // FNV-1a, 32 bits: stable across runs and versions, unlike the standard library's hasher.
    let hash = whole.bytes().fold(0x811c_9dc5_u32, |h, b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193));
    let head = label_chars(head, max.saturating_sub(9).max(1));
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

/// Whether `c` is a character that must not reach a comment or a plain line as it is: a
/// control character (Unicode category Cc, `\n` and `\r` among them), a format character (Cf:
/// the BiDi overrides U+202A–U+202E and isolates U+2066–U+2069, zero-width characters, the
/// byte-order mark), or a line or paragraph separator (Zl U+2028, Zp U+2029). YAML 1.1 scanners
/// (PyYAML, libyaml, go-yaml under kubectl and kustomize) end a line at U+0085, U+2028 and
/// U+2029 too, so any of them would end a `#` comment and let the rest of the text be read as
/// YAML.
pub(crate) fn is_unsafe_in_line(c: char) -> bool {
    c.is_control() || c == '\u{2028}' || c == '\u{2029}' || is_format(c)
}

/// Unicode general category Cf (format characters), as of Unicode 16.
fn is_format(c: char) -> bool {
    matches!(
        u32::from(c),
        0x00AD
            | 0x0600..=0x0605
            | 0x061C
            | 0x06DD
            | 0x070F
            | 0x0890..=0x0891
            | 0x08E2
            | 0x180E
            | 0x200B..=0x200F
            | 0x202A..=0x202E
            | 0x2060..=0x2064
            | 0x2066..=0x206F
            | 0xFEFF
            | 0xFFF9..=0xFFFB
            | 0x110BD
            | 0x110CD
            | 0x13430..=0x1343F
            | 0x1BCA0..=0x1BCA3
            | 0x1D173..=0x1D17A
            | 0xE0001
            | 0xE0020..=0xE007F
    )
}

/// `text` (from input: a client, a user, a group, an object's name) made one safe line, to write
/// into a `#` comment of YAML or of a shell command: every control, format, line-break and
/// separator character (see [`is_unsafe_in_line`]) becomes a visible escape such as `\u{2028}`
/// and a backslash becomes `\\`, so nothing the input says can end the comment, and a reviewer
/// sees every hidden character. [`from_one_line`] undoes it.
pub fn one_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c == '\\' {
            out.push_str("\\\\");
        } else if is_unsafe_in_line(c) {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

/// The text [`one_line`] was given: `\\` and `\u{…}` escapes decoded, anything else kept.
pub fn from_one_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('\\') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(tail) = after.strip_prefix('\\') {
            out.push('\\');
            rest = tail;
        } else if let Some((c, tail)) = after
            .strip_prefix("u{")
            .and_then(|h| h.split_once('}'))
            .and_then(|(hex, tail)| Some((char::from_u32(u32::from_str_radix(hex, 16).ok()?)?, tail)))
        {
            out.push(c);
            rest = tail;
        } else {
            out.push('\\');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// `text` quoted for a POSIX shell (single quotes), so names from input cannot inject commands.
pub use findings::text::shell_quote;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_escapes_every_break_and_hidden_character_and_is_undone_exactly() {
        assert_eq!(
            one_line("a\nb\rc\u{85}d\u{2028}e\u{2029}f\u{202e}g\u{2066}h\u{200b}i\u{e0041}j\u{1b}k\u{7f}"),
            "a\\u{a}b\\u{d}c\\u{85}d\\u{2028}e\\u{2029}f\\u{202e}g\\u{2066}h\\u{200b}i\\u{e0041}j\\u{1b}k\\u{7f}"
        );
        assert_eq!(one_line("plain: text, é 日本"), "plain: text, é 日本");
        // A backslash is escaped too, so text that looks like an escape stays apart.
        assert_eq!(one_line("a\\u{2028}b"), "a\\\\u{2028}b");
        for text in ["a\\u{2028}b\u{2028}\\", "\\", "\\u{", "\\u{zz}", "\\u{110000}", "x\u{85}\n\r"] {
            assert_eq!(from_one_line(&one_line(text)), text);
        }
        assert_eq!(from_one_line("bad \\q and \\u{zz}"), "bad \\q and \\u{zz}");
    }

    #[test]
    fn shell_quote_neutralises_metacharacters() {
        assert_eq!(shell_quote("kube-system"), "kube-system");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("x'; rm -rf /"), r"'x'\''; rm -rf /'");
        assert_eq!(shell_quote(""), "''");
    }
}
