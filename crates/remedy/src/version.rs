//! Kubernetes versions as users and data spell them, and the flowcontrol API each one serves.

use std::fmt;
use std::str::FromStr;

/// A Kubernetes minor version, parsed from `1.29`, `v1.29.4`, `1.29.4-gke.100`, `v1.30.2+k3s1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KubernetesVersion {
    /// Major version: 1 (parsing refuses any other, as no other was released).
    pub major: u32,
    /// Minor version.
    pub minor: u32,
}

impl KubernetesVersion {
    /// The version assumed when neither `--kubernetes-version` nor the data says one.
    pub const DEFAULT: KubernetesVersion = KubernetesVersion { major: 1, minor: 29 };

    /// A version from its parts.
    pub const fn new(major: u32, minor: u32) -> Self {
        KubernetesVersion { major, minor }
    }

    /// Whether the cluster serves API Priority and Fairness on by default: from 1.20 (beta,
    /// `v1beta1`); 1.18 and 1.19 had it as an alpha feature, off unless enabled.
    pub fn has_apf(self) -> bool {
        self.major > 1 || self.minor >= 20
    }

    /// The `flowcontrol.apiserver.k8s.io` version to write for this cluster.
    pub fn flow_control_api(self) -> FlowControlApi {
        match (self.major, self.minor) {
            (m, _) if m > 1 => FlowControlApi::V1,
            (_, n) if n >= 29 => FlowControlApi::V1,
            (_, 26..=28) => FlowControlApi::V1beta3,
            (_, 23..=25) => FlowControlApi::V1beta2,
            _ => FlowControlApi::V1beta1,
        }
    }
}

impl fmt::Display for KubernetesVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// The highest minor version taken: 1.35 came out in December 2025 and about three follow a
/// year, so 1.45 is years away; `1.99` or `1.100` is a typo, not a cluster (re-review s26: both
/// were taken and written into remedy titles).
pub const NEWEST_PLAUSIBLE_MINOR: u32 = 45;

/// A string that is not a Kubernetes version, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a Kubernetes version: {1}")]
pub struct VersionError(pub String, pub &'static str);

const EXPECTED: &str = "expected 1.MINOR such as 1.29 or v1.29.4 (every Kubernetes release is 1.x)";

impl FromStr for KubernetesVersion {
    type Err = VersionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || VersionError(s.to_owned(), EXPECTED);
        let trimmed = s.trim();
        let body = trimmed.strip_prefix('v').unwrap_or(trimmed);
        let mut parts = body.split('.');
        let major_text = parts.next().ok_or_else(err)?;
        let major = major_text.parse::<u32>().map_err(|_| err())?;
        // The minor part may carry a vendor suffix when there is no patch ("1.29+", "1.29-eks").
        let minor_text = parts.next().ok_or_else(err)?;
        let digits: String = minor_text.chars().take_while(char::is_ascii_digit).collect();
        let minor = digits.parse::<u32>().map_err(|_| err())?;
        // What follows the digits is a vendor suffix (`+`, `-…`), or nothing: `1.29x` is a typo,
        // and `1.2x` was taken as 1.2 (review s42, item 9). So is a patch of anything else.
        let suffix_ok = |rest: &str| rest.is_empty() || rest.starts_with('+') || rest.starts_with('-');
        if !suffix_ok(&minor_text[digits.len()..]) {
            return Err(err());
        }
        if let Some(patch) = parts.next() {
            let patch_digits = patch.bytes().take_while(u8::is_ascii_digit).count();
            // `1.29.4-gke.100`: the suffix may hold dots of its own.
            if digits.len() != minor_text.len() || patch_digits == 0 || !suffix_ok(&patch[patch_digits..]) {
                return Err(err());
            }
        }
        // There is no Kubernetes 0.x or 2.x release: a remedy "for Kubernetes 2.0" would be
        // written for a cluster that does not exist. No release writes a leading zero either
        // (`01.30`, `1.030`).
        if major != 1 || major_text.len() > 1 || (digits.len() > 1 && digits.starts_with('0')) {
            return Err(err());
        }
        if minor > NEWEST_PLAUSIBLE_MINOR {
            return Err(VersionError(
                s.to_owned(),
                "no Kubernetes release has a minor version that high (1.35 came out in December 2025, about three \
                 a year follow); expected 1.MINOR such as 1.29 or v1.29.4",
            ));
        }
        Ok(KubernetesVersion { major, minor })
    }
}

/// The API versions of `flowcontrol.apiserver.k8s.io` that we write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FlowControlApi {
    /// GA from Kubernetes 1.29: `nominalConcurrencyShares`.
    V1,
    /// Kubernetes 1.26–1.28: `nominalConcurrencyShares`.
    V1beta3,
    /// Kubernetes 1.23–1.25 (served to 1.28): `assuredConcurrencyShares`.
    V1beta2,
    /// Kubernetes 1.20–1.22: `assuredConcurrencyShares`.
    V1beta1,
}

impl FlowControlApi {
    /// The `apiVersion` field.
    pub fn api_version(self) -> &'static str {
        match self {
            FlowControlApi::V1 => "flowcontrol.apiserver.k8s.io/v1",
            FlowControlApi::V1beta3 => "flowcontrol.apiserver.k8s.io/v1beta3",
            FlowControlApi::V1beta2 => "flowcontrol.apiserver.k8s.io/v1beta2",
            FlowControlApi::V1beta1 => "flowcontrol.apiserver.k8s.io/v1beta1",
        }
    }

    /// True when the priority level's share field is `nominalConcurrencyShares` (else
    /// `assuredConcurrencyShares`).
    pub fn uses_nominal_shares(self) -> bool {
        matches!(self, FlowControlApi::V1 | FlowControlApi::V1beta3)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_spellings_found_in_data_and_flags() {
        for (text, minor) in [
            ("1.29", 29),
            ("v1.29.4", 29),
            ("1.28.3-gke.1286000", 28),
            ("v1.30.2+k3s1", 30),
            ("1.27+", 27),
            (" 1.16.0 ", 16),
            ("1.0", 0),
            ("1.45", 45),
        ] {
            assert_eq!(text.parse::<KubernetesVersion>(), Ok(KubernetesVersion::new(1, minor)), "{text}");
        }
        // Re-review s26 item 8: a minor no release will have for decades, and leading zeros.
        for bad in [
            "", "1", "v", "one.two", "0.1", "1.x", "2.0", "v3.1.4", "1.99", "1.100", "01.30", "1.030",
            // Review s42, item 9: trailing text that is no vendor suffix.
            "1.29x", "1.2x", "1.29.4x", "1.29.", "1.29.x", "1.29+.4",
        ] {
            assert!(bad.parse::<KubernetesVersion>().is_err(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn flow_control_api_follows_the_versions_that_serve_it() {
        let api = |minor| KubernetesVersion::new(1, minor).flow_control_api();
        assert_eq!(api(35), FlowControlApi::V1);
        assert_eq!(api(29), FlowControlApi::V1);
        assert_eq!(api(28), FlowControlApi::V1beta3);
        assert_eq!(api(26), FlowControlApi::V1beta3);
        assert_eq!(api(25), FlowControlApi::V1beta2);
        assert_eq!(api(23), FlowControlApi::V1beta2);
        assert_eq!(api(22), FlowControlApi::V1beta1);
        assert!(FlowControlApi::V1beta3.uses_nominal_shares());
        assert!(!FlowControlApi::V1beta2.uses_nominal_shares());
    }
}
