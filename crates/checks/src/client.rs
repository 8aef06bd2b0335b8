//! Clients as people name them: user agents with their version folded away.
//!
//! `kubelet/v1.29.4 (linux/amd64) kubernetes/55b6b33` and `kubelet/v1.29.2 (linux/amd64)
//! kubernetes/4b8e819` are one client, `kubelet`. client-go appends a component name after the
//! commit (`kube-controller-manager/v1.29.4 (linux/amd64) kubernetes/55b6b33/system:serviceaccount:kube-system:job-controller`);
//! that part names a different client and is kept. The raw strings stay in the evidence.
//!
//! The folding is defined once, as two regular expressions used both here and in the KQL the
//! checks run ([`CLIENT_KQL`]), so the client a finding names is the one its query groups by.

use std::sync::LazyLock;

use regex::Regex;

// The two expressions, as literals so that the Rust and KQL forms below are built from them.
macro_rules! product_re {
    () => {
        r"^([/ ]*[^/ ]*)"
    };
}
macro_rules! component_re {
    () => {
        r"kubernetes/[^/ ]+(/.+)$"
    };
}

/// The product: everything before the first `/` or space that follows a character of
/// something else. An agent that starts with `/` or spaces (` space-first/1.0`) keeps them:
/// folding them away would put it with the requests that carry no user agent at all.
const PRODUCT: &str = product_re!();
/// The component client-go appends after `kubernetes/<commit>`.
const COMPONENT: &str = component_re!();

static PRODUCT_RE: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(PRODUCT).ok());
static COMPONENT_RE: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(COMPONENT).ok());

/// The KQL expression for an agent's product (see [`product`]).
pub const PRODUCT_KQL: &str = concat!(r#"extract(@""#, product_re!(), r#"", 1, UserAgent)"#);

/// The KQL expression that folds `UserAgent` into the client name, exactly as
/// [`fold_user_agent`] does.
pub const CLIENT_KQL: &str = concat!(
    r#"strcat(extract(@""#,
    product_re!(),
    r#"", 1, UserAgent), extract(@""#,
    component_re!(),
    r#"", 1, UserAgent))"#
);

/// A client's product: its name up to the first `/` (what follows names the service account
/// of the agent). Every agent folded into the client starts with it, so a query can filter
/// on it with `UserAgent startswith_cs` before folding agents.
pub fn product(client: &str) -> &str {
    client.split('/').next().unwrap_or_default()
}

/// Folds a raw user agent into its client name (see the module docs).
pub fn fold_user_agent(user_agent: &str) -> String {
    let capture = |re: &LazyLock<Option<Regex>>| -> String {
        re.as_ref()
            .and_then(|re| re.captures(user_agent))
            .and_then(|c| c.get(1))
            .map(|m| m.as_str().to_owned())
            .unwrap_or_default()
    };
    let mut client = capture(&PRODUCT_RE);
    client.push_str(&capture(&COMPONENT_RE));
    client
}

/// How a client is shown: its name, or `(no user agent)` for the empty one.
pub fn display_client(client: &str) -> &str {
    if client.is_empty() { "(no user agent)" } else { client }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_fold_into_one_client() {
        assert_eq!(fold_user_agent("kubelet/v1.29.4 (linux/amd64) kubernetes/55b6b33"), "kubelet");
        assert_eq!(fold_user_agent("kubelet/v1.29.2 (linux/amd64) kubernetes/4b8e819"), "kubelet");
        assert_eq!(fold_user_agent("kubelet/v1.32.0 (linux/arm64) kubernetes/e105b10"), "kubelet");
        assert_eq!(fold_user_agent("kubectl/v1.28.0"), "kubectl");
        assert_eq!(fold_user_agent("kubectl/v1.25.4 (darwin/arm64) kubernetes/872a965"), "kubectl");
        assert_eq!(fold_user_agent("kube-probe/1.28"), "kube-probe");
        assert_eq!(fold_user_agent("Go-http-client/2.0"), "Go-http-client");
        assert_eq!(fold_user_agent("Custom-AsyncHttpClient"), "Custom-AsyncHttpClient");
        assert_eq!(fold_user_agent("Kubernetes Java Client/18.0.0-SNAPSHOT"), "Kubernetes");
    }

    #[test]
    fn component_after_the_commit_names_a_different_client() {
        assert_eq!(
            fold_user_agent(
                "kube-controller-manager/v1.17.3 (linux/amd64) kubernetes/06ad960/tokens-controller"
            ),
            "kube-controller-manager/tokens-controller"
        );
        assert_eq!(
            fold_user_agent(
                "hyperkube/v1.15.10 (linux/amd64) kubernetes/059c666/system:serviceaccount:kube-system:resourcequota-controller"
            ),
            "hyperkube/system:serviceaccount:kube-system:resourcequota-controller"
        );
        assert_eq!(
            fold_user_agent("approver/v0.0.0 (linux/amd64) kubernetes/$Format/leader-election"),
            "approver/leader-election"
        );
        assert_eq!(fold_user_agent("elastic-agent/v0.0.0 (linux/amd64) kubernetes/$Format"), "elastic-agent");
        // Two different controllers of one binary stay apart; two versions of one stay together.
        assert_ne!(
            fold_user_agent(
                "kube-controller-manager/v1.29.4 (linux/amd64) kubernetes/55b6b33/job-controller"
            ),
            fold_user_agent(
                "kube-controller-manager/v1.29.4 (linux/amd64) kubernetes/55b6b33/cronjob-controller"
            )
        );
        assert_eq!(
            fold_user_agent(
                "kube-controller-manager/v1.29.4 (linux/amd64) kubernetes/55b6b33/job-controller"
            ),
            fold_user_agent(
                "kube-controller-manager/v1.29.2 (linux/amd64) kubernetes/4b8e819/job-controller"
            )
        );
    }

    #[test]
    fn odd_user_agents_fold_without_panicking() {
        assert_eq!(fold_user_agent(""), "");
        assert_eq!(display_client(""), "(no user agent)");
        assert_eq!(fold_user_agent("/leading-slash"), "/leading-slash");
        assert_eq!(fold_user_agent(" space"), " space");
        assert_eq!(fold_user_agent("kubernetes/abc/"), "kubernetes");
        assert_eq!(fold_user_agent("ünïcødé/1.0"), "ünïcødé");
        assert_eq!(
            fold_user_agent("x kubernetes/abc/comp kubernetes/def/other"),
            "x/comp kubernetes/def/other"
        );
    }

    #[test]
    fn an_agent_starts_with_its_client_up_to_the_first_slash() {
        // The offender profile query filters `UserAgent startswith_cs` this prefix before
        // folding agents; it must hold for every agent, or the profile would miss requests.
        for agent in [
            "kubelet/v1.29.4 (linux/amd64) kubernetes/55b6b33",
            "kube-controller-manager/v1.17.3 (linux/amd64) kubernetes/06ad960/tokens-controller",
            "hyperkube/v1.15.10 (linux/amd64) kubernetes/059c666/system:serviceaccount:kube-system:resourcequota-controller",
            "Kubernetes Java Client/18.0.0-SNAPSHOT",
            "Custom-AsyncHttpClient",
            "/odd kubernetes/abc/component",
            " leading-space",
            "",
        ] {
            let client = fold_user_agent(agent);
            let prefix = product(&client);
            assert!(
                agent.starts_with(prefix),
                "{agent:?} does not start with {prefix:?} (client {client:?})"
            );
        }
    }
}
