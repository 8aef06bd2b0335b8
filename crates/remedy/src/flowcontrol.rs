//! API Priority and Fairness objects that throttle one client: a FlowSchema matching its
//! identity, verbs and resources, and a small PriorityLevelConfiguration it is sent to.

use std::collections::{BTreeMap, BTreeSet};

use findings::{Remedy, RemedyKind, Safety};

use crate::version::{FlowControlApi, KubernetesVersion};
use crate::yaml::{self, Node};
use crate::{RemedyError, from_one_line, hashed_label_of, is_dns_label, is_dns_subdomain, one_line};

/// The user names of the control plane's own components: a throttle on them slows every
/// workload's controllers.
pub const CONTROL_PLANE_USERS: [&str; 3] =
    ["system:kube-controller-manager", "system:kube-scheduler", "system:apiserver"];

/// The user names of cluster add-ons that authenticate as users, not as service accounts:
/// kube-proxy, which programs Service routing on every node. Like the control plane, every
/// workload depends on them, so no throttle is proposed for them.
pub const ADDON_USERS: [&str; 1] = ["system:kube-proxy"];

/// The namespace the cluster's own add-ons run in (CoreDNS, kube-proxy, the network plugin, the
/// autoscalers). Its service accounts (group `system:serviceaccounts:kube-system`) have a
/// FlowSchema of their own among Kubernetes' defaults, `kube-system-service-accounts`
/// (matchingPrecedence 900), which a throttle at [`ThrottlePlan::DEFAULT_PRECEDENCE`] would
/// outrank.
pub const ADDON_NAMESPACE: &str = "kube-system";

/// The FlowSchemas and PriorityLevelConfigurations every Kubernetes API server keeps that are
/// mandatory (`exempt` and `catch-all`: the API server refuses any other spec for them).
/// Source: `k8s.io/apiserver/pkg/apis/flowcontrol/bootstrap` (`MandatoryFlowSchemas`,
/// `MandatoryPriorityLevelConfigurations`).
const MANDATORY_APF_NAMES: [&str; 2] = ["exempt", "catch-all"];

/// The FlowSchemas OpenShift ships with its API servers and operators
/// (openshift/cluster-openshift-apiserver-operator and cluster-authentication-operator,
/// `manifests/09_flowschema.yaml`), which its operators put back when they change.
const OPENSHIFT_FLOW_SCHEMAS: [&str; 7] = [
    "openshift-apiserver-sar",
    "openshift-apiserver",
    "openshift-apiserver-operator",
    "openshift-oauth-apiserver-sar",
    "openshift-oauth-apiserver",
    "openshift-authentication-operator",
    "openshift-oauth-server",
];

/// The priority level OpenShift's FlowSchemas for its operators send to.
const OPENSHIFT_PRIORITY_LEVELS: [&str; 1] = ["openshift-control-plane-operators"];

/// What `name` is when a cluster has a FlowSchema or PriorityLevelConfiguration of that name
/// already, of its own making: one of Kubernetes' built-in objects (mandatory or suggested, of
/// any version from 1.20 on, `endpoint-controller` and `workload-leader-election` of 1.33 and
/// before too) or OpenShift's, in words (`Kubernetes' suggested PriorityLevelConfiguration
/// workload-low`). `None` for any other name. A throttle of that name would replace the
/// cluster's own object when applied, and its "To undo" would delete it (review of the
/// remedies, item 1: `--name workload-low` squeezed every service account into 5 shares).
pub fn built_in_apf_object(name: &str) -> Option<String> {
    let fs = findings::apf::BOOTSTRAP_FLOW_SCHEMAS.contains(&name);
    let pl = findings::apf::BOOTSTRAP_PRIORITY_LEVELS.contains(&name);
    let kinds = match (fs, pl) {
        (true, true) => "FlowSchema and PriorityLevelConfiguration",
        (true, false) => "FlowSchema",
        (false, true) => "PriorityLevelConfiguration",
        (false, false) => {
            return if OPENSHIFT_FLOW_SCHEMAS.contains(&name) {
                Some(format!("OpenShift's FlowSchema {name}"))
            } else if OPENSHIFT_PRIORITY_LEVELS.contains(&name) {
                Some(format!("OpenShift's PriorityLevelConfiguration {name}"))
            } else {
                None
            };
        }
    };
    let which = if MANDATORY_APF_NAMES.contains(&name) { "mandatory" } else { "suggested" };
    Some(format!("Kubernetes' built-in ({which}) {kinds} {name}"))
}

/// The first of Kubernetes' built-in FlowSchemas that takes in every request of `subject` (any
/// verb, any resource, any namespace) and that the API server consults before a FlowSchema
/// named `name` of matchingPrecedence `precedence` (lower precedence first, then the name that
/// sorts first): its name and precedence. Every cluster has them, so a throttle after one never
/// applies to `subject`. They are `kube-system-service-accounts` (900, the service accounts of
/// kube-system), `service-accounts` (9000, every service account), `global-default` (9900, every
/// authenticated user) and `catch-all` (10000, everyone). The mandatory `exempt` (1, group
/// `system:masters`) is not among them: no throttle can come before it (see [`always_exempt`]).
pub fn built_in_schema_first(
    subject: &ApfSubject,
    precedence: u32,
    name: &str,
) -> Option<(&'static str, u32)> {
    let service_account_of = |namespace: &str| match subject {
        ApfSubject::ServiceAccount { namespace: ns, .. } => namespace == "*" || ns == namespace,
        ApfSubject::Group(g) => {
            g == "system:serviceaccounts" && namespace == "*"
                || g.strip_prefix("system:serviceaccounts:")
                    .is_some_and(|ns| namespace == "*" || ns == namespace)
        }
        ApfSubject::User(_) => false,
    };
    // Every identity but the anonymous one is in system:authenticated.
    let authenticated = match subject {
        ApfSubject::User(u) => u != "system:anonymous",
        ApfSubject::Group(g) => g != "system:unauthenticated",
        ApfSubject::ServiceAccount { .. } => true,
    };
    let schemas: [(&'static str, u32, bool); 4] = [
        ("kube-system-service-accounts", 900, service_account_of(ADDON_NAMESPACE)),
        ("service-accounts", 9000, service_account_of("*")),
        ("global-default", 9900, authenticated),
        ("catch-all", 10000, true),
    ];
    schemas.into_iter().find(|(n, p, takes)| *takes && (*p, *n) < (precedence, name)).map(|(n, p, _)| (n, p))
}

/// Why no throttle can ever hold `subject`: the group `system:masters`, whose every request the
/// mandatory `exempt` FlowSchema (matchingPrecedence 1, which the API server keeps for it alone)
/// sends to the `exempt` priority level before any other FlowSchema is consulted. `None` for
/// any other subject.
pub fn always_exempt(subject: &ApfSubject) -> Option<String> {
    match subject {
        ApfSubject::Group(g) if g == "system:masters" => Some(
            "group system:masters: the mandatory FlowSchema exempt (matchingPrecedence 1, which no other FlowSchema \
             may have) sends every request of that group to the exempt priority level before any other FlowSchema \
             is consulted, so no throttle can ever hold it"
                .to_owned(),
        ),
        _ => None,
    }
}

/// Who a FlowSchema matches, as APF spells subjects.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ApfSubject {
    /// A user by name.
    User(String),
    /// A group by name.
    Group(String),
    /// A service account.
    ServiceAccount {
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
    },
}

impl ApfSubject {
    /// The subject for an authenticated user name: `system:serviceaccount:NS:NAME` is a service
    /// account when NS and NAME are names Kubernetes accepts, anything else a user of exactly
    /// that name. Review s42: `system:serviceaccount:ns1:ev|il` (an authenticator's user, never
    /// a real service account) gave a ServiceAccount subject the API server refuses; as a User
    /// subject it matches the requests that carried that name.
    pub fn from_username(username: &str) -> ApfSubject {
        match Self::service_account_parts(username) {
            Some((namespace, name)) if crate::is_dns_label(namespace) && crate::is_dns_subdomain(name) => {
                ApfSubject::ServiceAccount { namespace: namespace.to_owned(), name: name.to_owned() }
            }
            _ => ApfSubject::User(username.to_owned()),
        }
    }

    /// The namespace and name of `system:serviceaccount:NS:NAME`, both non-empty and NAME
    /// without `:`, whether or not Kubernetes would accept them as names.
    pub fn service_account_parts(username: &str) -> Option<(&str, &str)> {
        let (namespace, name) = username.strip_prefix("system:serviceaccount:")?.split_once(':')?;
        (!namespace.is_empty() && !name.is_empty() && !name.contains(':')).then_some((namespace, name))
    }

    /// How a person names it: `serviceaccount kube-system/foo`, `user alice`, `group x`.
    pub fn describe(&self) -> String {
        match self {
            ApfSubject::User(name) => format!("user {name}"),
            ApfSubject::Group(name) => format!("group {name}"),
            ApfSubject::ServiceAccount { namespace, name } => format!("service account {namespace}/{name}"),
        }
    }
}

/// The requests of a FlowSchema rule: verbs on resources of API groups, cluster-wide and/or
/// in namespaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceRule {
    /// Verbs, e.g. `list`, `watch`, `update`.
    pub verbs: BTreeSet<String>,
    /// API groups; `""` is the core group.
    pub api_groups: BTreeSet<String>,
    /// Resources, with `resource/subresource` for subresources.
    pub resources: BTreeSet<String>,
    /// Match requests that name no namespace (cluster-scoped objects, or every namespace).
    pub cluster_scope: bool,
    /// Namespaces matched (`*` for all); empty when only cluster-scope requests are matched.
    pub namespaces: BTreeSet<String>,
}

/// Everything needed to write a throttle for one client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThrottlePlan {
    /// Name of both objects (a DNS label derived from the client).
    pub name: String,
    /// The client, as named in the finding (folded user agent or user).
    pub client: String,
    /// Who to match.
    pub subjects: Vec<ApfSubject>,
    /// What to match.
    pub rules: Vec<ResourceRule>,
    /// Concurrency shares of the new priority level: small, so the client gets a small slice.
    pub concurrency_shares: u32,
    /// Matching precedence of the FlowSchema: below every bootstrap schema except `exempt` (1)
    /// and `probes` (2), so it is consulted before the schema that matches the client today.
    pub matching_precedence: u32,
    /// The groups each user subject was seen with in the audit log (`User.groups`): FlowSchemas
    /// with Group subjects classify by them. Written into the YAML as comments
    /// ([`groups_seen`] reads them back) so that whoever checks the throttle against the
    /// cluster's FlowSchemas knows them.
    pub groups_seen: BTreeMap<String, BTreeSet<String>>,
    /// Requests of these identities already rejected with 429 Too Many Requests, and all their
    /// requests: the client is throttled already, by a priority level that may be tighter than
    /// the one proposed.
    pub already_rejected: Option<(u64, u64)>,
    /// Keep the identities' leader election out of the throttle: when its rules take in leases
    /// by a wildcard (`*` resources or verbs of `coordination.k8s.io`), a second FlowSchema,
    /// consulted just before the throttle, sends their `get`, `create` and `update` of leases
    /// to the built-in `leader-election` priority level (see [`lease_schema_name`]). Off by
    /// default (`diagnose` throttles the requests it saw, leases too when they are the load);
    /// `throttle` turns it on unless told to hold leases too.
    pub spare_leases: bool,
}

/// How the YAML's comment lines naming the groups a user was seen with begin.
const GROUPS_SEEN: &str = "# Groups seen in the audit log for";

/// The groups per user that a throttle's YAML says were seen in the audit log (its
/// `# Groups seen in the audit log for USER: G1, G2` comment lines).
pub fn groups_seen(yaml: &str) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    for line in yaml.lines() {
        if let Some(rest) = line.strip_prefix(GROUPS_SEEN).and_then(|r| r.strip_prefix(' '))
            && let Some((user, groups)) = rest.rsplit_once(": ")
        {
            let groups: Vec<String> =
                groups.split(", ").map(str::trim).filter(|g| !g.is_empty()).map(from_one_line).collect();
            out.insert(from_one_line(user), groups);
        }
    }
    out
}

/// How the YAML's comment on requests already rejected with 429 begins.
const ALREADY_REJECTED: &str = "# Careful: ";

/// The requests already rejected with 429, and all requests, that a throttle's YAML says the
/// client had (its `# Careful: N of its M requests were already rejected with 429` comment).
pub fn already_rejected(yaml: &str) -> Option<(u64, u64)> {
    let line = yaml.lines().find_map(|l| l.strip_prefix(ALREADY_REJECTED))?;
    let (rejected, rest) = line.split_once(" of its ")?;
    let (total, rest) = rest.split_once(' ')?;
    let number = |t: &str| t.replace(',', "").parse().ok();
    rest.starts_with("requests were already rejected with 429")
        .then(|| Some((number(rejected)?, number(total)?)))?
}

/// What the priority level's limits mean for the client, as the YAML's comment says it.
fn seats_note(plan: &ThrottlePlan, api: FlowControlApi) -> String {
    if api.uses_nominal_shares() {
        format!(
            "The level gets {} concurrency shares of the server's seats; lendablePercent: 0 keeps them for this client.\n\
             # borrowingLimitPercent: 0 stops it borrowing the idle seats of other levels (left out, borrowing is \
             unlimited and the throttle could grow to many times its nominal seats).",
            plan.concurrency_shares
        )
    } else {
        format!(
            "The level gets {} concurrency shares of the server's seats; {} has no borrowing between levels, so \
             it cannot take more.",
            plan.concurrency_shares,
            api.api_version()
        )
    }
}

impl ThrottlePlan {
    /// Default concurrency shares of a throttle's priority level (the bootstrap `catch-all`
    /// level has 5; `global-default` 20).
    pub const DEFAULT_SHARES: u32 = 5;
    /// Default matching precedence: before `system-leader-election` (100) and every other
    /// bootstrap schema but `exempt` and `probes`.
    pub const DEFAULT_PRECEDENCE: u32 = 90;

    /// A plan with the default shares and precedence, named after its one identity (see
    /// [`throttle_name`]), else after the client: two checks that name the same service account,
    /// one by its client and one by its user name, propose the same objects.
    pub fn new(client: &str, subjects: Vec<ApfSubject>, rules: Vec<ResourceRule>) -> ThrottlePlan {
        ThrottlePlan {
            name: throttle_name(&subjects),
            client: client.to_owned(),
            subjects,
            rules,
            concurrency_shares: Self::DEFAULT_SHARES,
            matching_precedence: Self::DEFAULT_PRECEDENCE,
            groups_seen: BTreeMap::new(),
            already_rejected: None,
            spare_leases: false,
        }
    }
}

/// The name of a throttle's objects, unique to its identity and the same run after run:
/// `throttle-sa-NS.NAME` for a service account (a namespace has no `.`, so the first one ends
/// it), `throttle-user-NAME`, `throttle-group-NAME` (the kind marker ends at the name's first `-`
/// after `throttle-`, so a user, a group and a service account never share a name), and for
/// several identities `throttle-ids-` and all of them, ending in a hash. Review 50, item 1: the service account's namespace was left out, so `ci/runner`,
/// `staging/runner` and the user `runner` were all `throttle-runner`, and applying one replaced
/// another's FlowSchema. A name that is not a Kubernetes object name as it is, or is longer than
/// 63 characters, is cut to a label that ends in a hash of the whole identity (see
/// [`hashed_label_of`]).
fn throttle_name(subjects: &[ApfSubject]) -> String {
    const MAX: usize = 63;
    let (readable, exact, whole) = match subjects {
        [ApfSubject::ServiceAccount { namespace, name }] => (
            format!("sa-{namespace}.{name}"),
            is_dns_label(namespace) && is_dns_subdomain(name),
            format!("serviceaccount:{namespace}:{name}"),
        ),
        [ApfSubject::User(user)] => (format!("user-{user}"), is_dns_subdomain(user), format!("user:{user}")),
        [ApfSubject::Group(group)] => {
            (format!("group-{group}"), is_dns_subdomain(group), format!("group:{group}"))
        }
        // Several identities: all of them, sorted so that the order they were named in does not
        // matter, marked `ids-` so that the name never reads as one identity's, and ending in a
        // hash of them all. Review of the remedies, item 11: the name was the user agent's
        // (`throttle-inventory-exporter`), though the FlowSchema holds every request of these
        // identities, from any client.
        _ => {
            let readable: BTreeSet<String> = subjects.iter().map(kind_and_name).collect();
            let readable: Vec<String> = readable.into_iter().collect();
            let head = format!("ids-{}", readable.join("-"));
            let whole = format!("several:{}", readable.join(","));
            return format!("throttle-{}", hashed_label_of(&head, &whole, MAX - "throttle-".len()));
        }
    };
    if exact && "throttle-".len() + readable.len() <= MAX {
        format!("throttle-{readable}")
    } else {
        format!("throttle-{}", hashed_label_of(&readable, &whole, MAX - "throttle-".len()))
    }
}

/// The kind marker and name of one identity as a throttle's name gives it: `sa-NS.NAME`,
/// `user-NAME`, `group-NAME`.
fn kind_and_name(subject: &ApfSubject) -> String {
    match subject {
        ApfSubject::ServiceAccount { namespace, name } => format!("sa-{namespace}.{name}"),
        ApfSubject::User(user) => format!("user-{user}"),
        ApfSubject::Group(group) => format!("group-{group}"),
    }
}

/// The name of the FlowSchema that keeps the leader election of `plan`'s identities out of
/// the throttle, when [`throttle_manifests`] writes one: `plan.spare_leases` is set, a rule
/// of the throttle takes in leases by a wildcard (`*` among its resources, or among its API
/// groups and resources; naming `leases` is asking to throttle them), with a verb of leader
/// election (`get`, `create`, `update` or `*`), and the throttle's matchingPrecedence is 3 or
/// more (the lease schema needs one below it, and 1 is the `exempt` schema's alone). It is the
/// throttle's name with `-leases`, the throttle's name cut to fit 253 characters.
pub fn lease_schema_name(plan: &ThrottlePlan) -> Option<String> {
    let takes_leases = plan.rules.iter().any(|r| {
        let group = r.api_groups.contains("*") || r.api_groups.contains("coordination.k8s.io");
        let verb = ["*", "get", "create", "update"].iter().any(|v| r.verbs.contains(*v));
        group && verb && r.resources.contains("*")
    });
    if !plan.spare_leases || !takes_leases || plan.matching_precedence < 3 {
        return None;
    }
    let base = plan.name.get(..253 - "-leases".len()).unwrap_or(&plan.name).trim_end_matches(['-', '.']);
    Some(format!("{base}-leases"))
}

/// The FlowSchema named `name` that sends the `get`, `create` and `update` of leases
/// (`coordination.k8s.io`) by `plan`'s identities, in the namespaces its rules take in, to the
/// built-in `leader-election` priority level (10 shares, which Kubernetes' own
/// `system-leader-election` uses), one matchingPrecedence before the throttle's.
fn lease_schema(plan: &ThrottlePlan, name: &str, api: FlowControlApi) -> Node {
    let mut namespaces: BTreeSet<String> = BTreeSet::new();
    let mut cluster_scope = false;
    for r in &plan.rules {
        namespaces.extend(r.namespaces.iter().cloned());
        cluster_scope |= r.cluster_scope;
    }
    if namespaces.contains("*") {
        namespaces = BTreeSet::from(["*".to_owned()]);
    }
    let rule = ResourceRule {
        verbs: ["get", "create", "update"].into_iter().map(str::to_owned).collect(),
        api_groups: BTreeSet::from(["coordination.k8s.io".to_owned()]),
        resources: BTreeSet::from(["leases".to_owned()]),
        cluster_scope,
        namespaces,
    };
    Node::map([
        ("apiVersion", Node::str(api.api_version())),
        ("kind", Node::str("FlowSchema")),
        ("metadata", metadata(name)),
        (
            "spec",
            Node::map([
                ("priorityLevelConfiguration", name_ref("leader-election")),
                ("matchingPrecedence", Node::Int((plan.matching_precedence - 1).into())),
                ("distinguisherMethod", Node::map([("type", Node::str("ByUser"))])),
                (
                    "rules",
                    Node::Seq(vec![Node::map([
                        ("subjects", Node::Seq(plan.subjects.iter().map(subject_node).collect())),
                        ("resourceRules", Node::Seq(vec![resource_rule_node(&rule)])),
                    ])]),
                ),
            ]),
        ),
    ])
}

// The wire shapes. Field order is the order written, which follows `kubectl get -o yaml`.
// Every string from input goes through `Node::str`, which quotes whatever YAML 1.1 or 1.2
// would read as something else (see `crate::yaml`).

fn metadata(name: &str) -> Node {
    Node::map([
        ("name", Node::str(name)),
        ("labels", Node::map([("app.kubernetes.io/managed-by", Node::str("apiserver-doctor"))])),
    ])
}

fn name_ref(name: &str) -> Node {
    Node::map([("name", Node::str(name))])
}

fn subject_node(subject: &ApfSubject) -> Node {
    match subject {
        ApfSubject::User(name) => Node::map([("kind", Node::str("User")), ("user", name_ref(name))]),
        ApfSubject::Group(name) => Node::map([("kind", Node::str("Group")), ("group", name_ref(name))]),
        ApfSubject::ServiceAccount { namespace, name } => Node::map([
            ("kind", Node::str("ServiceAccount")),
            (
                "serviceAccount",
                Node::map([("namespace", Node::str(namespace.as_str())), ("name", Node::str(name.as_str()))]),
            ),
        ]),
    }
}

fn resource_rule_node(rule: &ResourceRule) -> Node {
    let mut entries = vec![
        ("verbs", Node::strs(&rule.verbs)),
        ("apiGroups", Node::strs(&rule.api_groups)),
        ("resources", Node::strs(&rule.resources)),
        ("clusterScope", Node::Bool(rule.cluster_scope)),
    ];
    if !rule.namespaces.is_empty() {
        entries.push(("namespaces", Node::strs(&rule.namespaces)));
    }
    Node::map(entries)
}

/// The comment line naming the groups `user` was seen with. Besides [`one_line`]'s escapes,
/// `: ` and `, ` inside a name are escaped too, so [`groups_seen`] splits the line where it was
/// joined.
fn groups_seen_line(user: &str, groups: &BTreeSet<String>) -> String {
    let item = |text: &str| one_line(text).replace(": ", "\\u{3a} ").replace(", ", "\\u{2c} ");
    format!(
        "{GROUPS_SEEN} {}: {}\n",
        item(user),
        groups.iter().map(|g| item(g)).collect::<Vec<_>>().join(", ")
    )
}

/// The PriorityLevelConfiguration and FlowSchema of `plan` as one multi-document YAML text,
/// in the API version `api` (ready for `kubectl apply -f -`).
pub fn throttle_manifests(plan: &ThrottlePlan, api: FlowControlApi) -> Result<String, RemedyError> {
    let shares = plan.concurrency_shares;
    // Lending and borrowing exist from v1beta3. `lendablePercent: 0` keeps the level's seats
    // for this client alone; `borrowingLimitPercent: 0` stops it taking the idle seats other
    // levels lend (left out, the limit is infinite, and APF hands the busiest level, the
    // offender's, whatever is idle: many times its nominal seats).
    let mut limited = if api.uses_nominal_shares() {
        vec![
            ("nominalConcurrencyShares", Node::Int(shares.into())),
            ("lendablePercent", Node::Int(0)),
            ("borrowingLimitPercent", Node::Int(0)),
        ]
    } else {
        vec![("assuredConcurrencyShares", Node::Int(shares.into()))]
    };
    // One flow (ByUser, one identity) fans out over `handSize` of the queues; a short
    // queue makes excess requests fail fast with 429 instead of piling up.
    limited.push((
        "limitResponse",
        Node::map([
            ("type", Node::str("Queue")),
            (
                "queuing",
                Node::map([
                    ("queues", Node::Int(16)),
                    ("handSize", Node::Int(4)),
                    ("queueLengthLimit", Node::Int(50)),
                ]),
            ),
        ]),
    ));
    let priority_level = Node::map([
        ("apiVersion", Node::str(api.api_version())),
        ("kind", Node::str("PriorityLevelConfiguration")),
        ("metadata", metadata(&plan.name)),
        ("spec", Node::map([("type", Node::str("Limited")), ("limited", Node::map(limited))])),
    ]);
    let flow_schema = Node::map([
        ("apiVersion", Node::str(api.api_version())),
        ("kind", Node::str("FlowSchema")),
        ("metadata", metadata(&plan.name)),
        (
            "spec",
            Node::map([
                ("priorityLevelConfiguration", name_ref(&plan.name)),
                ("matchingPrecedence", Node::Int(plan.matching_precedence.into())),
                ("distinguisherMethod", Node::map([("type", Node::str("ByUser"))])),
                (
                    "rules",
                    Node::Seq(vec![Node::map([
                        ("subjects", Node::Seq(plan.subjects.iter().map(subject_node).collect())),
                        ("resourceRules", Node::Seq(plan.rules.iter().map(resource_rule_node).collect())),
                    ])]),
                ),
            ]),
        ),
    ]);
    let mut out = String::new();
    // The identities, not the client: a FlowSchema matches who sends a request, not the
    // program (review of the remedies, item 11: `# Throttle inventory-exporter` held every
    // `list pods` of alice@example.com, from kubectl too).
    let who: Vec<String> = plan.subjects.iter().map(|s| one_line(&s.describe())).collect();
    let who = who.join(", ");
    out.push_str(&format!(
        "# Throttle {who} with API Priority and Fairness (generated by apiserver-doctor).\n"
    ));
    if one_line(&plan.client) != who {
        out.push_str(&format!(
            "# It matches these identities, not a program: it holds every request of theirs its rules take in, from \
             any client, not only {}'s.\n",
            one_line(&plan.client)
        ));
    }
    out.push_str(&format!("# {}\n", seats_note(plan, api)));
    if let Some((rejected, total)) = plan.already_rejected {
        out.push_str(&format!(
            "{ALREADY_REJECTED}{} of its {} requests were already rejected with 429 Too Many Requests, so API \
             Priority and Fairness already limits it.\n# If a FlowSchema of the cluster already sends it to a priority \
             level of its own, that level may be tighter than this one: applying this would loosen the limit. Check \
             first:\n#   kubectl get flowschemas -o wide\n# and compare the level its FlowSchema names (kubectl get \
             prioritylevelconfiguration NAME -o yaml) with the one below; if it is as tight, fix the client instead \
             (see the advice).\n",
            findings::thousands(i128::from(rejected)),
            findings::thousands(i128::from(total))
        ));
    }
    for (user, groups) in &plan.groups_seen {
        out.push_str(&groups_seen_line(user, groups));
    }
    let leases = lease_schema_name(plan);
    if plan.spare_leases && leases.is_none() && plan.matching_precedence < 3 {
        out.push_str(
            "# Leader election: at matchingPrecedence 2 no FlowSchema can come before the throttle to keep these \
             identities'\n# leases out of it; their lease renewals wait in its queues too.\n",
        );
    }
    out.push_str(&yaml::to_string(&priority_level));
    out.push_str("---\n");
    out.push_str(&yaml::to_string(&flow_schema));
    if let Some(name) = leases {
        out.push_str("---\n");
        out.push_str(
            "# Leader election stays out of the throttle: its rules take in every resource, leases too, and a \
             controller\n# whose lease renewals wait behind its own requests loses leadership, restarts and lists \
             everything again:\n# more load, not less. This FlowSchema, consulted just before the throttle, sends \
             these identities' get,\n# create and update of leases (coordination.k8s.io) to the built-in \
             leader-election priority level, as\n# Kubernetes does for its own controllers. Locks kept in configmaps \
             or endpoints (older clients) stay\n# throttled. To throttle leases too, leave this FlowSchema out \
             (`throttle --throttle-leases`).\n",
        );
        out.push_str(&yaml::to_string(&lease_schema(plan, &name, api)));
    }
    Ok(out)
}

/// The throttling remedies for a client: the APF objects for `version`, and the command that
/// shows whether they reject its requests.
pub fn throttle_remedies(
    plan: &ThrottlePlan,
    version: KubernetesVersion,
) -> Result<Vec<Remedy>, RemedyError> {
    if !version.has_apf() {
        return Ok(vec![Remedy {
            title: format!("No throttle for Kubernetes {version}: API Priority and Fairness came with 1.20"),
            kind: RemedyKind::Advice,
            body: format!(
                "Kubernetes {version} has no FlowSchema or PriorityLevelConfiguration to throttle {} with: before 1.20 \
                 the API server's only limits are --max-requests-inflight and --max-mutating-requests-inflight, which \
                 cap every client together. Tune or stop the client (see the advice), and upgrade: API Priority and \
                 Fairness is on by default from 1.20. If the cluster is newer than {version}, pass \
                 --kubernetes-version to get the throttle.",
                plan.client
            ),
            safety: Safety::ReviewFirst,
        }]);
    }
    let api = version.flow_control_api();
    let who: Vec<String> = plan.subjects.iter().map(ApfSubject::describe).collect();
    let yaml = throttle_manifests(plan, api)?;
    Ok(vec![
        Remedy {
            title: format!(
                "Throttle {} ({}) with a FlowSchema and PriorityLevelConfiguration ({}, Kubernetes {}){}",
                plan.client,
                who.join(", "),
                api.api_version(),
                version,
                if plan.already_rejected.is_some() {
                    " (it already gets 429s: check the level it is in first, see the YAML's comments)"
                } else {
                    ""
                }
            ),
            kind: RemedyKind::Yaml,
            body: yaml,
            safety: Safety::ReviewFirst,
        },
        Remedy {
            title: "Watch whether the throttle rejects or queues the client's requests".to_owned(),
            kind: RemedyKind::Command,
            body: format!(
                "kubectl get --raw /metrics | grep -E 'apiserver_flowcontrol_(rejected_requests_total|current_inqueue_requests).*flow_schema=\"{}\"'",
                plan.name
            ),
            safety: Safety::Safe,
        },
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Re-review s26: the comment read `# Careful: 544 of its 1209 requests`, the one number of the
    /// remedy written without thousands separators.
    #[test]
    fn the_already_rejected_comment_writes_thousands_and_reads_them_back() {
        let mut plan =
            ThrottlePlan::new("kubectl", vec![ApfSubject::from_username("dave@contoso.com")], vec![]);
        plan.already_rejected = Some((1_544, 12_090));
        let yaml = throttle_manifests(&plan, FlowControlApi::V1).expect("renders");
        assert!(
            yaml.contains("# Careful: 1,544 of its 12,090 requests were already rejected with 429"),
            "{yaml}"
        );
        assert_eq!(already_rejected(&yaml), Some((1_544, 12_090)));
    }

    #[test]
    fn a_plan_is_named_after_its_one_identity_whichever_check_names_it() {
        let sa = || {
            vec![ApfSubject::from_username("system:serviceaccount:platform-system:config-sync-controller")]
        };
        // AUD006 names the client, AUD001 the user: the same objects either way.
        let by_client = ThrottlePlan::new("config-sync-controller", sa(), vec![]);
        let by_user =
            ThrottlePlan::new("system:serviceaccount:platform-system:config-sync-controller", sa(), vec![]);
        assert_eq!(by_client.name, "throttle-sa-platform-system.config-sync-controller");
        assert_eq!(by_user.name, by_client.name);
        // Several identities: they name it, not the client.
        let two = vec![ApfSubject::User("alice".into()), ApfSubject::User("bob".into())];
        assert!(
            ThrottlePlan::new("kubectl", two, vec![]).name.starts_with("throttle-ids-user-alice-user-bob-")
        );
        // MET006 and MET007 know a throttle of ours by its name when its level rejects.
        let long = ThrottlePlan::new("c", vec![ApfSubject::User("alice@example.com".into())], vec![]);
        for plan in [&by_client, &long] {
            assert_eq!(findings::apf::flow_schema_maker(&plan.name), findings::apf::Maker::ApiserverDoctor);
            assert_eq!(
                findings::apf::priority_level_maker(&plan.name),
                findings::apf::Maker::ApiserverDoctor
            );
        }
    }

    #[test]
    fn a_plan_name_that_loses_information_ends_in_a_hash_and_one_that_does_not_is_kept() {
        let name = |subject: ApfSubject| ThrottlePlan::new("client", vec![subject], vec![]).name;
        let all = |ns: &str| ApfSubject::ServiceAccount { namespace: ns.into(), name: "*".into() };
        assert_ne!(name(all("obs")), name(all("ci")));
        assert_ne!(name(ApfSubject::User("管理者".into())), name(ApfSubject::User("ユーザー".into())));
        assert_ne!(name(ApfSubject::User("Alice".into())), name(ApfSubject::User("alice".into())));
        assert_eq!(name(ApfSubject::User("alice".into())), "throttle-user-alice");
        assert_eq!(
            name(ApfSubject::from_username("system:serviceaccount:ci:runner")),
            "throttle-sa-ci.runner"
        );
        let hashed = name(ApfSubject::User("alice@example.com".into()));
        assert!(hashed.starts_with("throttle-user-alice-example-com-") && hashed.len() == 40, "{hashed}");
    }

    /// Review 50, item 1: the name left out a service account's namespace, so `ci/runner`,
    /// `staging/runner` and the user `runner` were all `throttle-runner`: applying the second
    /// replaced the first one's FlowSchema, and its "To undo" deleted both.
    #[test]
    fn throttle_names_of_service_accounts_in_two_namespaces_and_a_user_of_that_name_differ() {
        let name = |subject: ApfSubject| ThrottlePlan::new("runner", vec![subject], vec![]).name;
        let sa = |ns: &str, n: &str| ApfSubject::ServiceAccount { namespace: ns.into(), name: n.into() };
        let names = [
            name(sa("ci", "runner")),
            name(sa("staging", "runner")),
            name(ApfSubject::User("runner".into())),
            name(ApfSubject::Group("runner".into())),
            // Dashes cannot make two service accounts alike: the namespace ends at the dot.
            name(sa("team-a", "default")),
            name(sa("team", "a-default")),
            name(ApfSubject::User("sa-team-a.default".into())),
            // Cut short, the hash is of the whole identity.
            name(sa("ci", &format!("{}-one", "x".repeat(60)))),
            name(sa("ci", &format!("{}-two", "x".repeat(60)))),
            name(sa("ci2", &format!("{}-one", "x".repeat(60)))),
        ];
        let distinct: BTreeSet<&String> = names.iter().collect();
        assert_eq!(distinct.len(), names.len(), "{names:?}");
        assert_eq!(
            names[..4],
            [
                "throttle-sa-ci.runner",
                "throttle-sa-staging.runner",
                "throttle-user-runner",
                "throttle-group-runner"
            ]
        );
        for n in &names {
            assert!(n.len() <= 63 && crate::is_dns_subdomain(n), "{n}");
        }
        // Run after run, the same name.
        assert_eq!(name(sa("ci", &format!("{}-one", "x".repeat(60)))), names[7]);
        // Several identities are marked `ids-`, whatever the client, and never read as one's.
        let two = || vec![ApfSubject::User("a".into()), ApfSubject::User("b".into())];
        let marked = ThrottlePlan::new("user-runner", two(), vec![]).name;
        assert!(marked.starts_with("throttle-ids-user-a-user-b-"), "{marked}");
        assert_eq!(ThrottlePlan::new("kubectl", two(), vec![]).name, marked);
    }

    #[test]
    fn service_account_usernames_become_service_account_subjects() {
        assert_eq!(
            ApfSubject::from_username("system:serviceaccount:monitoring:scraper"),
            ApfSubject::ServiceAccount { namespace: "monitoring".into(), name: "scraper".into() }
        );
        assert_eq!(
            ApfSubject::from_username("alice@example.com"),
            ApfSubject::User("alice@example.com".into())
        );
        // Malformed service-account names stay users rather than being guessed at.
        assert_eq!(
            ApfSubject::from_username("system:serviceaccount:ns-only"),
            ApfSubject::User("system:serviceaccount:ns-only".into())
        );
        assert_eq!(
            ApfSubject::from_username("system:serviceaccount::x"),
            ApfSubject::User("system:serviceaccount::x".into())
        );
        // Review s42: names Kubernetes refuses for a namespace or a service account are a
        // user's of exactly that name, whose subject the API server accepts.
        for odd in [
            "system:serviceaccount:ns1:ev|il",
            "system:serviceaccount:NS:runner",
            "system:serviceaccount:ns:a:b",
            "system:serviceaccount:ns:Runner",
            "system:serviceaccount:-ns:runner",
        ] {
            assert_eq!(ApfSubject::from_username(odd), ApfSubject::User(odd.into()), "{odd}");
        }
        assert_eq!(
            ApfSubject::from_username("system:serviceaccount:kube-system:my.controller-1"),
            ApfSubject::ServiceAccount { namespace: "kube-system".into(), name: "my.controller-1".into() }
        );
    }
    /// Review of the remedies, item 11: several identities behind one user agent were written
    /// as `# Throttle inventory-exporter` in objects named `throttle-inventory-exporter`, though
    /// the FlowSchema holds every request of those identities, from any client.
    #[test]
    fn several_identities_behind_one_user_agent_were_named_after_the_agent() {
        let subjects = vec![
            ApfSubject::User("alice@example.com".into()),
            ApfSubject::from_username("system:serviceaccount:obs:exporter"),
        ];
        let plan = ThrottlePlan::new("inventory-exporter", subjects.clone(), vec![]);
        assert!(
            plan.name.starts_with("throttle-ids-sa-obs-exporter-user-alice-example-com-"),
            "{}",
            plan.name
        );
        assert!(plan.name.len() <= 63 && crate::is_dns_subdomain(&plan.name), "{}", plan.name);
        let reversed = ThrottlePlan::new("other-agent", subjects.into_iter().rev().collect(), vec![]);
        assert_eq!(reversed.name, plan.name, "named after the identities, in any order");
        let yaml = throttle_manifests(&plan, FlowControlApi::V1).expect("renders");
        let header: Vec<&str> = yaml.lines().take(2).collect();
        assert_eq!(
            header[0],
            "# Throttle user alice@example.com, service account obs/exporter with API Priority and Fairness \
             (generated by apiserver-doctor)."
        );
        assert!(header[1].contains("from any client, not only inventory-exporter's"), "{yaml}");
        assert!(!yaml.contains("# Throttle inventory-exporter"), "{yaml}");
    }

    /// Review of the remedies, item 1: the names of the cluster's own APF objects.
    #[test]
    fn built_in_apf_names_are_known_with_their_kind() {
        assert_eq!(
            built_in_apf_object("workload-low").as_deref(),
            Some("Kubernetes' built-in (suggested) PriorityLevelConfiguration workload-low")
        );
        assert_eq!(
            built_in_apf_object("catch-all").as_deref(),
            Some("Kubernetes' built-in (mandatory) FlowSchema and PriorityLevelConfiguration catch-all")
        );
        assert!(
            built_in_apf_object("endpoint-controller").is_some_and(|w| w.contains("suggested) FlowSchema "))
        );
        assert!(
            built_in_apf_object("openshift-oauth-apiserver-sar")
                .is_some_and(|w| w.starts_with("OpenShift's"))
        );
        assert_eq!(built_in_apf_object("throttle-user-bob"), None);
    }

    /// Review of the remedies, item 4b: which built-in schema comes before a throttle.
    #[test]
    fn the_built_in_schema_first_depends_on_the_identity_and_the_precedence() {
        let sa = ApfSubject::from_username("system:serviceaccount:ci:runner");
        let user = ApfSubject::User("bob".into());
        let first = |s: &ApfSubject, p: u32| built_in_schema_first(s, p, "throttle-x");
        assert_eq!(first(&sa, 90), None);
        assert_eq!(first(&sa, 9000), Some(("service-accounts", 9000)), "a tie goes to the name first");
        assert_eq!(first(&user, 9500), None);
        assert_eq!(first(&user, 9901), Some(("global-default", 9900)));
        assert_eq!(first(&ApfSubject::User("system:anonymous".into()), 9950), None);
        assert_eq!(
            first(&ApfSubject::Group("system:unauthenticated".into()), 10000),
            Some(("catch-all", 10000))
        );
        assert_eq!(
            first(&ApfSubject::Group("system:serviceaccounts:ci".into()), 9001),
            Some(("service-accounts", 9000))
        );
        let kube_system = ApfSubject::from_username("system:serviceaccount:kube-system:coredns");
        assert_eq!(first(&kube_system, 901), Some(("kube-system-service-accounts", 900)));
        // A name that sorts before `catch-all` comes first at 10000.
        assert_eq!(built_in_schema_first(&ApfSubject::User("system:anonymous".into()), 10000, "a"), None);
        assert!(always_exempt(&ApfSubject::Group("system:masters".into())).is_some());
        assert!(always_exempt(&ApfSubject::Group("ops".into())).is_none());
    }

    /// Review of the remedies, item 5: the lease schema is written only when the throttle takes
    /// in leases by a wildcard, and comes one precedence before it.
    #[test]
    fn the_lease_schema_is_written_only_for_a_wildcard_throttle() {
        let rule = |verbs: &[&str], groups: &[&str], resources: &[&str]| ResourceRule {
            verbs: verbs.iter().map(|v| (*v).to_owned()).collect(),
            api_groups: groups.iter().map(|v| (*v).to_owned()).collect(),
            resources: resources.iter().map(|v| (*v).to_owned()).collect(),
            cluster_scope: false,
            namespaces: BTreeSet::from(["team".to_owned()]),
        };
        let plan = |r: ResourceRule| {
            let mut p = ThrottlePlan::new("c", vec![ApfSubject::User("bob".into())], vec![r]);
            p.spare_leases = true;
            p
        };
        let every = plan(rule(&["*"], &["*"], &["*"]));
        assert_eq!(lease_schema_name(&every).as_deref(), Some("throttle-user-bob-leases"));
        assert!(lease_schema_name(&plan(rule(&["update"], &["coordination.k8s.io"], &["*"]))).is_some());
        assert_eq!(lease_schema_name(&plan(rule(&["list", "watch"], &["*"], &["*"]))), None);
        assert_eq!(lease_schema_name(&plan(rule(&["*"], &["coordination.k8s.io"], &["leases"]))), None);
        assert_eq!(lease_schema_name(&plan(rule(&["*"], &[""], &["pods"]))), None);
        let mut off = every.clone();
        off.spare_leases = false;
        assert_eq!(lease_schema_name(&off), None, "diagnose's throttles hold what they saw");
        let yaml = throttle_manifests(&every, FlowControlApi::V1).expect("renders");
        assert!(yaml.contains("matchingPrecedence: 89\n"), "{yaml}");
        assert!(yaml.contains("      namespaces:\n      - team\n"), "{yaml}");
        assert_eq!(yaml.matches("\n---\n").count(), 2, "{yaml}");
        let mut long = every.clone();
        long.name = format!("throttle-{}", "a".repeat(244));
        let name = lease_schema_name(&long).expect("written");
        assert!(name.len() <= 253 && crate::is_dns_subdomain(&name), "{name}");
    }
}
