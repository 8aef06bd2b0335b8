//! The admission webhook configurations and API Priority and Fairness objects of the
//! simulated cluster, as `kubectl get -o yaml` would list them.

use crate::cluster::KubeVersion;
use crate::scenario::Scenarios;

/// Default APF objects of Kubernetes 1.28–1.33 (transcribed from kubernetes/apiserver).
const APF_1_28: &str = include_str!("../data/k8s-bootstrap-apf-objects_v1.28-v1.33.yaml");
/// Default APF objects of Kubernetes 1.34 on.
const APF_1_34: &str = include_str!("../data/k8s-bootstrap-apf-objects_v1.34plus.yaml");

/// The `flowcontrol.apiserver.k8s.io` version a release serves its APF objects as.
pub fn apf_api_version(minor: u32) -> &'static str {
    match minor {
        0..=19 => "v1alpha1",
        20..=22 => "v1beta1",
        23..=25 => "v1beta2",
        26..=28 => "v1beta3",
        _ => "v1",
    }
}

/// Rewrites the v1 defaults into an older API version's shape (`assuredConcurrencyShares`
/// before v1beta3; no `lendablePercent` before 1.26).
fn adapt(yaml: &str, minor: u32) -> String {
    let api = format!("apiVersion: flowcontrol.apiserver.k8s.io/{}", apf_api_version(minor));
    yaml.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| minor >= 26 || !l.trim_start().starts_with("lendablePercent:"))
        .map(|l| {
            if l.starts_with("apiVersion: flowcontrol.apiserver.k8s.io/") {
                api.clone()
            } else if minor < 26 {
                l.replace("nominalConcurrencyShares", "assuredConcurrencyShares")
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `manifests/apf.yaml`: the version's defaults, plus the scenario's FlowSchema and
/// PriorityLevelConfiguration for `apf-throttled`.
pub fn apf_yaml(version: KubeVersion, scenarios: &Scenarios) -> String {
    let defaults = if version.minor >= 34 { APF_1_34 } else { APF_1_28 };
    let mut out = format!(
        "# API Priority and Fairness objects of the simulated cluster (Kubernetes {}).\n# The defaults are the apiserver's bootstrap objects; see crates/simulate/data/SOURCES.md.\n",
        version.short()
    );
    out.push_str(adapt(defaults, version.minor).trim_start_matches('\n'));
    out.push('\n');
    if let Some(a) = &scenarios.apf_throttled {
        let api = apf_api_version(version.minor);
        let shares = if version.minor < 26 { "assuredConcurrencyShares" } else { "nominalConcurrencyShares" };
        // Held to its own seats: no lending and, from 1.26 (where levels may borrow), no borrowing
        // either, so that this level is a real throttle (without a limit it may borrow any idle seat).
        let lendable =
            if version.minor >= 26 { "    lendablePercent: 0\n    borrowingLimitPercent: 0\n" } else { "" };
        let (ns, name) = a
            .who
            .username
            .strip_prefix("system:serviceaccount:")
            .and_then(|rest| rest.split_once(':'))
            .unwrap_or(("default", "default"));
        out.push_str(&format!(
            "---\napiVersion: flowcontrol.apiserver.k8s.io/{api}\nkind: PriorityLevelConfiguration\nmetadata:\n  name: {pl}\nspec:\n  type: Limited\n  limited:\n    {shares}: 2\n{lendable}    limitResponse:\n      type: Queue\n      queuing:\n        queues: 4\n        handSize: 2\n        queueLengthLimit: 10\n---\napiVersion: flowcontrol.apiserver.k8s.io/{api}\nkind: FlowSchema\nmetadata:\n  name: {fs}\nspec:\n  distinguisherMethod:\n    type: ByUser\n  matchingPrecedence: 500\n  priorityLevelConfiguration:\n    name: {pl}\n  rules:\n  - resourceRules:\n    - apiGroups:\n      - '*'\n      clusterScope: true\n      namespaces:\n      - '*'\n      resources:\n      - '*'\n      verbs:\n      - list\n      - get\n    subjects:\n    - kind: ServiceAccount\n      serviceAccount:\n        name: {name}\n        namespace: {ns}\n",
            pl = a.priority_level,
            fs = a.flow_schema,
        ));
    }
    out
}

/// `manifests/webhooks.yaml`: the cluster's healthy webhooks (cert-manager's, failing open
/// or scoped to its own resources), plus the Kyverno-like failing one for `webhook-outage`.
pub fn webhooks_yaml(scenarios: &Scenarios) -> String {
    let mut out = String::from(
        "# Admission webhook configurations of the simulated cluster.\napiVersion: admissionregistration.k8s.io/v1\nkind: MutatingWebhookConfiguration\nmetadata:\n  name: cert-manager-webhook\n  labels:\n    app.kubernetes.io/instance: cert-manager\n    app.kubernetes.io/name: webhook\nwebhooks:\n- admissionReviewVersions:\n  - v1\n  clientConfig:\n    service:\n      name: cert-manager-webhook\n      namespace: cert-manager\n      path: /mutate\n      port: 443\n  failurePolicy: Fail\n  matchPolicy: Equivalent\n  name: webhook.cert-manager.io\n  rules:\n  - apiGroups:\n    - cert-manager.io\n    apiVersions:\n    - v1\n    operations:\n    - CREATE\n    resources:\n    - certificaterequests\n    scope: '*'\n  sideEffects: None\n  timeoutSeconds: 30\n---\napiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingWebhookConfiguration\nmetadata:\n  name: ingress-nginx-admission\nwebhooks:\n- admissionReviewVersions:\n  - v1\n  clientConfig:\n    service:\n      name: ingress-nginx-controller-admission\n      namespace: ingress-nginx\n      path: /networking/v1/ingresses\n      port: 443\n  failurePolicy: Fail\n  matchPolicy: Equivalent\n  name: validate.nginx.ingress.kubernetes.io\n  rules:\n  - apiGroups:\n    - networking.k8s.io\n    apiVersions:\n    - v1\n    operations:\n    - CREATE\n    - UPDATE\n    resources:\n    - ingresses\n    scope: '*'\n  sideEffects: None\n  timeoutSeconds: 10\n",
    );
    if let Some(w) = &scenarios.webhook_outage {
        let (service, rest) = w
            .url
            .trim_start_matches("https://")
            .split_once('.')
            .unwrap_or(("kyverno-svc", "kyverno.svc:443/mutate/fail"));
        let namespace = rest.split('.').next().unwrap_or("kyverno");
        let path =
            rest.find('/').map_or("/mutate/fail", |i| rest[i..].split('?').next().unwrap_or("/mutate/fail"));
        out.push_str(&format!(
            "---\napiVersion: admissionregistration.k8s.io/v1\nkind: MutatingWebhookConfiguration\nmetadata:\n  name: {cfg}\n  labels:\n    webhook.kyverno.io/managed-by: kyverno\nwebhooks:\n- admissionReviewVersions:\n  - v1\n  clientConfig:\n    service:\n      name: {service}\n      namespace: {namespace}\n      path: {path}\n      port: 443\n  failurePolicy: Fail\n  matchPolicy: Equivalent\n  name: {name}\n  namespaceSelector: {{}}\n  objectSelector: {{}}\n  reinvocationPolicy: IfNeeded\n  rules:\n  - apiGroups:\n    - ''\n    apiVersions:\n    - v1\n    operations:\n    - CREATE\n    - UPDATE\n    resources:\n    - pods\n    scope: '*'\n  sideEffects: NoneOnDryRun\n  timeoutSeconds: {timeout}\n",
            cfg = w.configuration,
            name = w.webhook,
            timeout = w.timeout_seconds,
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Scenario;

    fn docs(yaml: &str) -> Vec<serde_json::Value> {
        yaml.split("\n---")
            .filter(|d| d.lines().any(|l| !l.trim().is_empty() && !l.starts_with('#')))
            .map(|d| yaml_serde::from_str(d).expect("valid YAML document"))
            .collect()
    }

    #[test]
    fn apf_yaml_holds_defaults_and_the_scenario_flow_schema() {
        let v = KubeVersion::parse("1.29").expect("known");
        let sc = Scenarios::new(1, &[Scenario::ApfThrottled], 5000);
        let d = docs(&apf_yaml(v, &sc));
        assert_eq!(d.len(), 23);
        let fs = d
            .iter()
            .find(|d| d["metadata"]["name"] == "throttle-build-status-poller")
            .expect("scenario FlowSchema");
        assert_eq!(fs["spec"]["priorityLevelConfiguration"]["name"], "restricted-pollers");
        assert_eq!(fs["spec"]["rules"][0]["subjects"][0]["serviceAccount"]["name"], "build-status-poller");
        assert!(d.iter().all(|d| d["apiVersion"] == "flowcontrol.apiserver.k8s.io/v1"));
        let old = docs(&apf_yaml(KubeVersion::parse("1.24").expect("known"), &Scenarios::default()));
        assert!(old.iter().all(|d| d["apiVersion"] == "flowcontrol.apiserver.k8s.io/v1beta2"));
        assert!(old.iter().any(|d| d["spec"]["limited"]["assuredConcurrencyShares"].is_number()));
    }

    #[test]
    fn webhooks_yaml_has_the_failing_webhook_only_in_its_scenario() {
        let healthy = docs(&webhooks_yaml(&Scenarios::default()));
        assert_eq!(healthy.len(), 2);
        let sc = Scenarios::new(1, &[Scenario::WebhookOutage], 5000);
        let d = docs(&webhooks_yaml(&sc));
        let k = d
            .iter()
            .find(|d| d["metadata"]["name"] == "kyverno-resource-mutating-webhook-cfg")
            .expect("kyverno");
        let hook = &k["webhooks"][0];
        assert_eq!(hook["name"], "mutate.kyverno.svc-fail");
        assert_eq!(hook["failurePolicy"], "Fail");
        assert_eq!(hook["timeoutSeconds"], 10);
        assert_eq!(hook["clientConfig"]["service"]["path"], "/mutate/fail");
        assert_eq!(hook["clientConfig"]["service"]["namespace"], "kyverno");
    }
}
