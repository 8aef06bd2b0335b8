//! The top offender: the client or identity the worst client finding names. Its finding gets
//! the throttling remedy (a FlowSchema and PriorityLevelConfiguration for its identity, verbs
//! and resources) and the tuning advice.

use std::collections::{BTreeMap, BTreeSet};

use findings::{Finding, Severity};
use remedy::{ApfSubject, ClientPattern, ResourceRule, ThrottlePlan, throttle_remedies, tuning_advice};

use crate::aud004_expensive_lists::ClientLists;
use crate::audit::{AuditContext, CheckError, QueryRunner, VersionSource, run_few};
use crate::client::{CLIENT_KQL, PRODUCT_KQL};
use crate::kql::{
    IMPERSONATOR, LATENCY_MS, NOT_LONG_RUNNING, RESOURCE, USER_GROUPS, USER_NAME, string_literal,
};
use crate::table::ResultTable;

/// Checks whose client findings name an offender, in the order they are trusted.
const OFFENDER_CHECKS: [&str; 4] = ["AUD004", "AUD001", "AUD006", "AUD002"];

/// The share of the offending load an identity must carry to be named in a throttle: a
/// bystander that shares the client's user agent is not throttled with it. Every identity that
/// carries this share is named (ten at most, by the arithmetic): a throttle that left one out
/// would leave its share of the load running (re-review s26: the sixth of six was dropped).
const CARRIER_SHARE: f64 = 0.1;
/// Resources a throttle names at most.
const MAX_RULES: usize = 5;

/// The index of the finding that names the top offender in `findings` (sorted worst first).
/// A client AUD006 names for its 429s, 5xx or 409s that sends fewer than
/// `offender_min_requests_per_second` is no offender: at that rate it is the victim of a
/// saturated priority level it shares (429), of a struggling server or etcd (5xx), or of
/// another writer of its objects (409), and a throttle would only make that worse (review 48
/// of the audit checks, item 10, for 429s; on-call review 52, item 1: a client timed out by
/// etcd at 3 requests/s was given the throttle, and the LIST storm behind it none). AUD006's
/// other remedies stay. And server errors are a symptom: a client that meets them ranks after
/// every client whose own load a check measured, whatever the severities.
pub fn top_offender(findings: &[Finding], ctx: &AuditContext) -> Option<usize> {
    let min_requests =
        ctx.thresholds.get(findings::threshold_names::OFFENDER_MIN_RATE).value * ctx.window_seconds();
    let slow_victim = |f: &Finding| {
        f.code == "AUD006"
            && f.evidence
                .measures
                .iter()
                .find(|m| m.label == "requests")
                .is_some_and(|m| m.value < min_requests)
    };
    let meets_server_errors = |f: &Finding| f.code == "AUD006" && f.title.contains("(5xx)");
    let candidates = findings.iter().enumerate().filter(|(_, f)| {
        f.severity >= Severity::Warning
            && OFFENDER_CHECKS.contains(&f.code.as_str())
            && (f.subject.kind == "client" || f.subject.kind == "user")
            && !slow_victim(f)
    });
    // Causes before server errors; then worst severity first; within it, the more trusted check.
    candidates
        .min_by_key(|(i, f)| {
            (
                meets_server_errors(f),
                std::cmp::Reverse(f.severity),
                OFFENDER_CHECKS.iter().position(|c| *c == f.code).unwrap_or(9),
                *i,
            )
        })
        .map(|(i, _)| i)
}

/// What a finding blames its client for: per request, a KQL value (1 for a request that
/// counts, a latency for time) whose sum per identity ranks the identities, and what it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Load {
    /// The KQL value of one request (0 when the request is not part of the finding).
    pub kql: String,
    /// What the sum is, for the text: "the time in expensive LISTs".
    pub what: &'static str,
}

/// The load `finding` blames its client for: for AUD004 the time in expensive LISTs, for
/// AUD002 the request time, for AUD006 the requests of the answer it reports, else requests.
pub fn load_of(finding: &Finding) -> Load {
    let (kql, what) = match finding.code.as_str() {
        "AUD004" => (crate::aud004_expensive_lists::expensive_list_ms(), "the time in expensive LISTs"),
        "AUD002" => (format!("iff({NOT_LONG_RUNNING}, {LATENCY_MS}, 0.0)"), "the request time"),
        "AUD006" if finding.title.contains("(429)") => {
            ("iff(toint(ResponseStatus.code) == 429, 1.0, 0.0)".to_owned(), "the throttled requests")
        }
        "AUD006" if finding.title.contains("(409)") => (
            "iff(toint(ResponseStatus.code) == 409 and Verb in (\"update\", \"patch\"), 1.0, 0.0)".to_owned(),
            "the conflicting updates",
        ),
        "AUD006" if finding.title.contains("(5xx)") => {
            ("iff(toint(ResponseStatus.code) >= 500, 1.0, 0.0)".to_owned(), "the server errors")
        }
        _ => ("1.0".to_owned(), "the requests"),
    };
    Load { kql, what }
}

/// What the offender sends: requests per identity, verb, API group, resource and scope, with
/// the `load` (the finding's measure) of each.
pub fn profile_query(ctx: &AuditContext, kind: &str, name: &str, load: &Load) -> String {
    let filter = if kind == "user" { "UserName" } else { "Client" };
    let name = if name == "(no user agent)" || name == "(no user)" { "" } else { name };
    // Filtering on the client's product first spares folding every other request's agent.
    let product = crate::client::product(name);
    let prefilter = if kind == "user" || product.is_empty() {
        String::new()
    } else {
        format!("\n| where UserAgent startswith_cs {}", string_literal(product))
    };
    format!(
        "{}{prefilter}\n| extend Client = {CLIENT_KQL}, UserName = {USER_NAME}\n| where {filter} == {}\n\
         | summarize Requests = count(), Load = sum(todouble({})), Rejected = countif(toint(ResponseStatus.code) == 429), \
         Groups = make_set({USER_GROUPS}, 5), Products = make_set({PRODUCT_KQL}, 5), \
         Impersonators = make_set_if({IMPERSONATOR}, isnotempty({IMPERSONATOR}), 5) \
         by UserName, Verb, ApiGroup = tostring(ObjectRef.apiGroup), Resource = {RESOURCE}, \
         Namespaced = isnotempty(tostring(ObjectRef.namespace))\n| order by Requests desc, UserName asc, Verb asc, ApiGroup asc, Resource asc, Namespaced asc",
        ctx.requests(),
        string_literal(name),
        load.kql
    )
}

/// Clients (user-agent products) of the control plane itself (its identities are
/// [`remedy::CONTROL_PLANE_USERS`]): a throttle on them slows every workload's controllers, so
/// none is proposed.
pub(crate) const CONTROL_PLANE_PRODUCTS: [&str; 4] =
    ["kube-controller-manager", "kube-scheduler", "kube-apiserver", "cloud-controller-manager"];

/// What the audit log shows of one identity of the offender.
#[derive(Debug, Default)]
struct Identity {
    /// Its requests in the window.
    requests: f64,
    /// Those rejected with 429 Too Many Requests.
    rejected: f64,
    /// The load the finding blames the client for that it carried (its requests when the
    /// profile has none).
    load: f64,
    /// The groups it was seen with (`User.groups`).
    groups: BTreeSet<String>,
    /// The products of the user agents it sent through (`kube-controller-manager`).
    products: BTreeSet<String>,
    /// The users that sent its requests impersonating it (`kubectl --as`, a proxy).
    impersonators: BTreeSet<String>,
}

/// What an identity no throttle should hold is to the cluster, with how it was recognised.
#[derive(Debug, Clone, PartialEq)]
enum Protected {
    /// Part of the control plane: the component, or how the identity is one.
    ControlPlane(String),
    /// A cluster add-on that every node or pod depends on (kube-proxy, any kube-system service
    /// account: CoreDNS, the network plugin): how the identity is one.
    AddOn(String),
}

impl Protected {
    /// What it is, in a few words: "part of the control plane".
    fn what(&self) -> &'static str {
        match self {
            Protected::ControlPlane(_) => "part of the control plane",
            Protected::AddOn(_) => "a cluster add-on in kube-system, which nodes and pods may depend on",
        }
    }

    /// How the identity was recognised as one.
    fn how(&self) -> &str {
        match self {
            Protected::ControlPlane(how) | Protected::AddOn(how) => how,
        }
    }
}

/// Which part of the control plane, or which cluster add-on, identity `user` is, from its name,
/// its groups and the agents it was seen sending through.
fn protected_identity(client: &str, user: &str, id: &Identity) -> Option<Protected> {
    if remedy::CONTROL_PLANE_USERS.contains(&user) {
        return Some(Protected::ControlPlane(user.to_owned()));
    }
    // The finding names the identity already: "it".
    let who = if user == client { "it" } else { user };
    if let Some(product) = id.products.iter().find(|p| CONTROL_PLANE_PRODUCTS.contains(&p.as_str())) {
        return Some(Protected::ControlPlane(format!("{who} sends through {product}")));
    }
    let kube_system_account = format!("system:serviceaccount:{}:", remedy::ADDON_NAMESPACE);
    if let Some(name) = user.strip_prefix(&kube_system_account)
        && name.ends_with("-controller")
    {
        return Some(Protected::ControlPlane(format!(
            "{who} is the identity of a kube-controller-manager controller, as kube-system service accounts named *-controller are"
        )));
    }
    if user.starts_with("system:node:") || id.groups.contains("system:nodes") {
        return Some(Protected::ControlPlane(format!("{who} is a node's kubelet, in group system:nodes")));
    }
    // The add-ons (review 48, item 3: kube-proxy and CoreDNS got a FlowSchema at precedence 90,
    // ahead of the default kube-system-service-accounts schema at 900, and 5 shares).
    if remedy::ADDON_USERS.contains(&user) {
        return Some(Protected::AddOn(format!(
            "{who} is kube-proxy, which routes Service traffic on every node"
        )));
    }
    let kube_system_group = format!("system:serviceaccounts:{}", remedy::ADDON_NAMESPACE);
    if user.starts_with(&kube_system_account) || id.groups.contains(&kube_system_group) {
        return Some(Protected::AddOn(format!(
            "{who} is a service account of kube-system, where CoreDNS, kube-proxy and the network plugin run, and \
             which Kubernetes' default FlowSchema kube-system-service-accounts sends to priority level workload-high"
        )));
    }
    None
}

/// Why `client` is not throttled: it is part of the control plane, or an add-on every workload
/// depends on (`protected`).
fn protected(client: &str, protected: &Protected) -> String {
    format!(
        "{client} is {} ({}), and throttling it would slow every workload that depends on it; find what keeps it \
         busy instead (the objects and clients in this finding's evidence)",
        protected.what(),
        protected.how()
    )
}

/// Why no throttle can hold `user`: an identity in group `system:masters` is classified by the
/// mandatory `exempt` FlowSchema before any other.
fn exempt(user: &str) -> String {
    format!(
        "{user} is in group system:masters (as the audit log shows), and the mandatory FlowSchema `exempt` \
         (matchingPrecedence 1, which no other FlowSchema may use) sends every request of that group to the exempt \
         priority level before any other FlowSchema is consulted, so no throttle can take effect. Give this client an \
         identity of its own outside system:masters (a service account or user with only the rights it needs), then \
         throttle that identity if it is still needed"
    )
}

/// The groups of a `tostring(User.groups)` value (a JSON array of strings).
fn parse_groups(text: &str) -> Vec<String> {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Array(items)) => {
            items.iter().filter_map(|g| g.as_str()).map(str::to_owned).collect()
        }
        _ => Vec::new(),
    }
}

/// The throttle plan for the profile rows of `client`, or why there is none.
pub fn plan(client: &str, rows: &ResultTable) -> Result<Result<ThrottlePlan, String>, CheckError> {
    Ok(decide(client, rows)?.map(|d| d.plan))
}

/// An identity that sent part of the offending load and is not in the throttle.
#[derive(Debug, Clone, PartialEq)]
struct LeftOut {
    /// Its name.
    user: String,
    /// Its share of the load.
    share: f64,
    /// Why a throttle cannot hold it, when it carried enough load to be named otherwise.
    why: Option<&'static str>,
}

/// A throttle, and the identities of the client it leaves out.
#[derive(Debug)]
pub struct Decision {
    /// The throttle.
    pub plan: ThrottlePlan,
    /// The identities it throttles, by user name.
    throttled: Vec<String>,
    /// The share of the load they carried.
    share: f64,
    /// The other identities seen with the client's user agent, most load first.
    left_out: Vec<LeftOut>,
    /// The throttled identities whose requests another user sent impersonating them, with
    /// those users.
    impersonated: Vec<(String, Vec<String>)>,
}

impl Decision {
    /// What the finding says of the identities the throttle leaves out, if any: `what` names
    /// the load ("the time in expensive LISTs").
    pub fn note(&self, client: &str, what: &str) -> Option<String> {
        let notes: Vec<String> =
            [self.left_out_note(client, what), self.impersonation_note()].into_iter().flatten().collect();
        (!notes.is_empty()).then(|| notes.join(" "))
    }

    /// What the finding says of the throttled identities that others impersonated: the
    /// throttle names them, not the users that sent their requests, and why.
    fn impersonation_note(&self) -> Option<String> {
        let shown: Vec<String> =
            self.impersonated.iter().map(|(user, by)| format!("{user} by {}", by.join(", "))).collect();
        if shown.is_empty() {
            return None;
        }
        Some(format!(
            "Requests were sent impersonating {} (Impersonate-User, as `kubectl --as` or a proxy sends them); API \
             Priority and Fairness classifies a request as the user it impersonates, so the throttle names that user, \
             not the one that authenticated.",
            shown.join("; ")
        ))
    }

    /// What the finding says of the identities the throttle leaves out, if any.
    fn left_out_note(&self, client: &str, what: &str) -> Option<String> {
        if self.left_out.is_empty() {
            return None;
        }
        let shown: Vec<String> = self
            .left_out
            .iter()
            .take(3)
            .map(|l| match l.why {
                Some(why) => format!("{} ({}, {why})", l.user, crate::audit::percent(l.share)),
                None => format!("{} ({})", l.user, crate::audit::percent(l.share)),
            })
            .collect();
        let more = self.left_out.len().saturating_sub(shown.len());
        let others = self.left_out.len();
        Some(format!(
            "The throttle names only {} ({} of {what} of {client}); {} other identit{} seen with this user agent {} left \
             out: {}{}.",
            self.throttled.join(", "),
            crate::audit::percent(self.share),
            crate::audit::count(others as f64),
            if others == 1 { "y" } else { "ies" },
            if others == 1 { "is" } else { "are" },
            shown.join(", "),
            if more > 0 { format!(" and {} more", crate::audit::count(more as f64)) } else { String::new() }
        ))
    }
}

/// The throttle for the profile rows of `client`, or why there is none. The identities are
/// ranked by the load the finding blames the client for (the `Load` column; by requests without
/// it or when it is 0): an identity that carried at least [`CARRIER_SHARE`] of it is a carrier
/// (ten at most). No throttle is proposed when the carriers that are the control
/// plane or a cluster add-on ([`protected_identity`]), or in group system:masters, carried more
/// than half of the load; the FlowSchema names
/// the other carriers only, and the identities it leaves out are listed in [`Decision`].
pub fn decide(client: &str, rows: &ResultTable) -> Result<Result<Decision, String>, CheckError> {
    let r = rows.reader();
    let (c_user, c_verb, c_group, c_resource, c_namespaced, c_requests) = (
        r.column("UserName")?,
        r.column("Verb")?,
        r.column("ApiGroup")?,
        r.column("Resource")?,
        r.column("Namespaced")?,
        r.column("Requests")?,
    );
    let (c_rejected, c_groups, c_products) =
        (r.column("Rejected")?, r.column("Groups")?, r.column("Products")?);
    let c_load = r.column("Load").ok();
    let c_impersonators = r.column("Impersonators").ok();
    // A row's load: finite and positive, else none.
    let row_load = |row: &[crate::table::Cell]| {
        c_load.as_ref().and_then(|c| c.opt_num(row)).filter(|n| n.is_finite() && *n > 0.0).unwrap_or(0.0)
    };
    let requests: f64 = rows.rows.iter().map(|row| c_requests.num(row)).sum();
    if requests <= 0.0 {
        return Ok(Err("no requests of this client in the window".to_owned()));
    }
    let mut per_user: BTreeMap<&str, Identity> = BTreeMap::new();
    for row in &rows.rows {
        let id = per_user.entry(c_user.text(row)).or_default();
        id.requests += c_requests.num(row);
        id.rejected += c_rejected.num(row);
        id.load += row_load(row);
        for g in c_groups.texts(row) {
            id.groups.extend(parse_groups(&g));
        }
        id.products.extend(c_products.texts(row).into_iter().filter(|p| !p.is_empty()));
        if let Some(c) = &c_impersonators {
            id.impersonators.extend(c.texts(row).into_iter().filter(|p| !p.is_empty()));
        }
    }
    let mut total: f64 = per_user.values().map(|id| id.load).sum();
    if total <= 0.0 {
        for id in per_user.values_mut() {
            id.load = id.requests;
        }
        total = requests;
    }
    let mut users: Vec<(&str, &Identity)> = per_user.iter().map(|(u, id)| (*u, id)).collect();
    users.sort_by(|a, b| b.1.load.total_cmp(&a.1.load).then_with(|| a.0.cmp(b.0)));
    let carriers: Vec<(&str, &Identity)> =
        users.iter().copied().filter(|(_, id)| id.load >= CARRIER_SHARE * total).collect();
    let product = crate::client::product(client);
    if CONTROL_PLANE_PRODUCTS.contains(&product) {
        return Ok(Err(protected(client, &Protected::ControlPlane(product.to_owned()))));
    }
    // Identities a throttle must not or cannot hold decide only when they carried most of the load.
    let control: Vec<(&str, f64, Protected)> = carriers
        .iter()
        .filter_map(|(u, id)| protected_identity(client, u, id).map(|c| (*u, id.load, c)))
        .collect();
    let masters: Vec<(&str, f64)> = carriers
        .iter()
        .filter(|(u, id)| id.groups.contains("system:masters") && !control.iter().any(|c| c.0 == *u))
        .map(|(u, id)| (*u, id.load))
        .collect();
    // Judged together: the control plane's 30% and system:masters' 30% leave a throttle that
    // holds 40% of the load, not a fix.
    let (control_load, masters_load) =
        (control.iter().map(|c| c.1).sum::<f64>(), masters.iter().map(|m| m.1).sum::<f64>());
    if control_load + masters_load > 0.5 * total {
        if control_load >= masters_load
            && let Some((user, _, component)) = control.first()
            && *user == client
        {
            return Ok(Err(protected(client, component)));
        }
        if control_load >= masters_load
            && let Some((user, load, component)) = control.first()
        {
            // The control plane (or an add-on) carried the load through this client's agent: say
            // which identity, and that the client itself is not one.
            return Ok(Err(format!(
                "{} of {client}'s load comes from identities no throttle should hold or can hold, most from {user} \
                 ({}), {} ({}); throttling it would slow every workload that depends on it, so find what keeps it \
                 busy instead (the objects and clients in this finding's evidence)",
                crate::audit::percent((control_load + masters_load) / total),
                crate::audit::percent(*load / total),
                component.what(),
                component.how()
            )));
        }
        if let Some((user, _)) = masters.first() {
            return Ok(Err(exempt(user)));
        }
    }
    // A request the audit log gives no user name is matched by no FlowSchema subject: when such
    // requests carry most of the load (with the exempt ones), a throttle of the named rest is
    // not the fix (re-review s26: 60% without a name, and the 40% user was throttled).
    let nameless: f64 = carriers.iter().filter(|(u, _)| u.is_empty()).map(|(_, id)| id.load).sum();
    if nameless > 0.0 && control_load + masters_load + nameless > 0.5 * total {
        return Ok(Err(format!(
            "{} of {client}'s load carries no user name in the audit log, which no FlowSchema subject can match: find \
             how it authenticates (its source IPs are in the evidence) and throttle that identity, or fix the client",
            crate::audit::percent(nameless / total)
        )));
    }
    let carried: f64 = carriers.iter().map(|(_, id)| id.load).sum();
    let chosen: Vec<(&str, &Identity)> = carriers
        .iter()
        .copied()
        .filter(|(u, _)| {
            !u.is_empty() && !control.iter().any(|c| c.0 == *u) && !masters.iter().any(|m| m.0 == *u)
        })
        .collect();
    if chosen.is_empty() || carried < 0.5 * total {
        return Ok(Err(format!(
            "{client} sends from {} identities, none of them a large part of its traffic: throttle it by group, or fix \
             the client",
            users.len()
        )));
    }
    let left_out: Vec<LeftOut> = users
        .iter()
        .filter(|(u, _)| !u.is_empty() && !chosen.iter().any(|c| c.0 == *u))
        .map(|(u, id)| LeftOut {
            user: (*u).to_owned(),
            share: id.load / total,
            why: if let Some((_, _, component)) = control.iter().find(|c| c.0 == *u) {
                Some(component.what())
            } else if masters.iter().any(|m| m.0 == *u) {
                Some("in group system:masters, which no throttle can hold")
            } else {
                None
            },
        })
        .collect();
    let rejected: f64 = chosen.iter().map(|(_, id)| id.rejected).sum();
    let chosen_users: Vec<&str> = chosen.iter().map(|(u, _)| *u).collect();
    // Verbs and scopes per (group, resource), over the chosen identities' requests, with the
    // load (the finding's measure) each carried: all of them, and those of the rows that
    // carried load.
    #[derive(Default)]
    struct Acc {
        requests: f64,
        load: f64,
        verbs: BTreeSet<String>,
        cluster: bool,
        namespaced: bool,
        loaded_verbs: BTreeSet<String>,
        loaded_cluster: bool,
        loaded_namespaced: bool,
    }
    let mut per_resource: BTreeMap<(String, String), Acc> = BTreeMap::new();
    for row in rows.rows.iter().filter(|row| chosen_users.contains(&c_user.text(row))) {
        let resource = c_resource.text(row);
        if resource.is_empty() {
            continue;
        }
        let acc = per_resource.entry((c_group.text(row).to_owned(), resource.to_owned())).or_default();
        let (verb, load) = (c_verb.text(row), row_load(row));
        let namespaced = matches!(c_namespaced.cell(row), crate::table::Cell::Bool(true));
        acc.requests += c_requests.num(row);
        acc.load += load;
        acc.verbs.insert(verb.to_owned());
        acc.namespaced |= namespaced;
        acc.cluster |= !namespaced;
        if load > 0.0 {
            acc.loaded_verbs.insert(verb.to_owned());
            acc.loaded_namespaced |= namespaced;
            acc.loaded_cluster |= !namespaced;
        }
    }
    // The resources that carried the finding's load come first, and those that carried none
    // are not throttled: an expensive-LIST finding about 200 LISTs of pods throttled the
    // client's 3,600 cheap gets of configmaps and its leader-election leases instead
    // (diagnose review s38, item 1). Without a load column (or none carried), requests rank.
    // Within a resource, likewise, only the verbs and scopes that carried load are held: the
    // expensive-LIST throttle of pods held the client's fast DELETEs of pods too (review 48,
    // item 4).
    let by_load = per_resource.values().any(|a| a.load > 0.0);
    if by_load {
        for acc in per_resource.values_mut() {
            acc.verbs = std::mem::take(&mut acc.loaded_verbs);
            (acc.cluster, acc.namespaced) = (acc.loaded_cluster, acc.loaded_namespaced);
        }
    }
    let weight = |a: &Acc| if by_load { a.load } else { a.requests };
    let mut resources: Vec<((String, String), Acc)> = per_resource.into_iter().collect();
    resources.sort_by(|a, b| {
        weight(&b.1)
            .total_cmp(&weight(&a.1))
            .then_with(|| b.1.requests.total_cmp(&a.1.requests))
            .then_with(|| a.0.cmp(&b.0))
    });
    let resource_total: f64 = resources.iter().map(|r| weight(&r.1)).sum();
    let mut rules = Vec::new();
    let mut covered = 0.0;
    for ((group, resource), acc) in resources {
        if rules.len() == MAX_RULES || covered >= 0.9 * resource_total || weight(&acc) <= 0.0 {
            break;
        }
        covered += weight(&acc);
        rules.push(ResourceRule {
            verbs: acc.verbs,
            api_groups: std::iter::once(group).collect(),
            resources: std::iter::once(resource).collect(),
            cluster_scope: acc.cluster,
            namespaces: if acc.namespaced {
                std::iter::once("*".to_owned()).collect()
            } else {
                BTreeSet::new()
            },
        });
    }
    if rules.is_empty() {
        return Ok(Err(format!("{client} sends no resource requests to throttle")));
    }
    let subjects: Vec<ApfSubject> = chosen_users.iter().map(|u| ApfSubject::from_username(u)).collect();
    let mut plan = ThrottlePlan::new(client, subjects, rules);
    for (user, id) in &chosen {
        if matches!(ApfSubject::from_username(user), ApfSubject::User(_)) && !id.groups.is_empty() {
            plan.groups_seen.insert((*user).to_owned(), id.groups.clone());
        }
    }
    if rejected > 0.0 {
        let all: f64 = chosen.iter().map(|(_, id)| id.requests).sum();
        plan.already_rejected = Some((rejected.round() as u64, all.round() as u64));
    }
    let share = chosen.iter().map(|(_, id)| id.load).sum::<f64>() / total;
    let throttled = chosen_users.iter().map(|u| (*u).to_owned()).collect();
    let impersonated = chosen
        .iter()
        .filter(|(_, id)| !id.impersonators.is_empty())
        .map(|(u, id)| ((*u).to_owned(), id.impersonators.iter().cloned().collect()))
        .collect();
    Ok(Ok(Decision { plan, throttled, share, left_out, impersonated }))
}

/// The access pattern of `client` for the tuning advice.
/// `version` is the cluster's: from 1.31 a LIST without `resourceVersion` is served from the
/// watch cache ([`crate::aud004_expensive_lists::CONSISTENT_LISTS_FROM_CACHE`]).
pub fn pattern(
    client: &str,
    user: Option<&str>,
    lists: &[ClientLists],
    conflicts: bool,
    version: remedy::KubernetesVersion,
) -> ClientPattern {
    let mine = lists.iter().find(|l| match user {
        Some(u) => l.users.iter().any(|x| x == u),
        None => crate::client::display_client(&l.client) == client,
    });
    let mut p = ClientPattern {
        update_conflicts: conflicts,
        consistent_lists_from_cache: version >= crate::aud004_expensive_lists::CONSISTENT_LISTS_FROM_CACHE,
        paginated_consistent_lists_from_etcd: version
            >= crate::aud004_expensive_lists::CONSISTENT_LISTS_FROM_CACHE
            && version < crate::aud004_expensive_lists::PAGINATED_LISTS_FROM_CACHE,
        ..ClientPattern::default()
    };
    if let Some(l) = mine {
        p.lists_without_limit = l.unpaginated > 0.0;
        p.lists_without_resource_version = l.from_etcd > 0.0;
        p.cluster_scope_lists = l.cluster_scope > 0.0;
        p.polls = l.lists > 0.0 && l.from_etcd / l.lists > 0.5;
    }
    p
}

/// Attaches the throttle and the advice to the top offender's finding, and the advice alone to
/// every other expensive-LIST finding (in place): a client that LISTs expensively is told how
/// to LIST cheaply even when another finding is the worst.
pub fn attach(
    findings: &mut [Finding],
    ctx: &AuditContext,
    runner: &dyn QueryRunner,
    lists: &[ClientLists],
) -> Result<(), CheckError> {
    let top = top_offender(findings, ctx);
    for (i, f) in findings.iter_mut().enumerate() {
        if Some(i) != top
            && f.code == "AUD004"
            && f.severity >= Severity::Warning
            && f.subject.kind == "client"
            && f.remedies.is_empty()
        {
            let name = f.subject.name.clone();
            f.remedies
                .push(tuning_advice(&name, &pattern(&name, None, lists, false, ctx.kubernetes_version)));
        }
    }
    let Some(index) = top else { return Ok(()) };
    let (kind, name) = (findings[index].subject.kind.clone(), findings[index].subject.name.clone());
    let conflicts =
        findings.iter().any(|f| f.code == "AUD006" && f.subject.name == name && f.title.contains("409"));
    let load = load_of(&findings[index]);
    let (_, rows) = run_few(runner, profile_query(ctx, &kind, &name, &load))?;
    let user = (kind == "user").then_some(name.as_str());
    let advice = tuning_advice(&name, &pattern(&name, user, lists, conflicts, ctx.kubernetes_version));
    let finding = &mut findings[index];
    match decide(&name, &rows)? {
        Ok(decision) => {
            let plan = &decision.plan;
            // A remedy that cannot be written is left out rather than failing the diagnosis.
            if let Ok(mut remedies) = throttle_remedies(plan, ctx.kubernetes_version) {
                let origin = match ctx.version_source {
                    VersionSource::Given => "as given",
                    VersionSource::Metrics => "as the API server's /metrics shows",
                    VersionSource::Data => "as seen in the audit log",
                    VersionSource::Default => "the default; pass --kubernetes-version to change it",
                };
                if let Some(first) = remedies.first_mut() {
                    first.title.push_str(&format!(" [Kubernetes version {origin}]"));
                }
                finding.remedies.extend(remedies);
                if let Some(note) = decision.note(&name, load.what) {
                    finding.summary.push_str(&format!(" {note}"));
                }
            }
        }
        Err(why) => finding.summary.push_str(&format!(" No throttle is proposed: {why}.")),
    }
    finding.remedies.push(advice);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::Cell;
    use crate::testutil::{list, text};
    use findings::{Evidence, Subject};

    fn f(code: &str, severity: Severity, kind: &str, name: &str) -> Finding {
        Finding {
            code: code.into(),
            severity,
            title: String::new(),
            subject: Subject::new(kind, name),
            time_range: None,
            summary: String::new(),
            evidence: Evidence::default(),
            thresholds: vec![],
            remedies: vec![],
        }
    }

    /// A runner that answers nothing.
    struct Refusing;

    impl QueryRunner for Refusing {
        fn run(&self, _kql: &str) -> Result<ResultTable, String> {
            Err("no engine here".to_owned())
        }
    }

    #[test]
    fn an_expensive_list_finding_that_is_not_the_top_offender_still_gets_the_tuning_advice() {
        // Compliance review observation: with a throttled client's 429s as the worst finding,
        // the expensive-LIST client's own finding had no remedy at all.
        let mut findings = vec![
            f("AUD006", Severity::Critical, "client", "build-status-poller"),
            f("AUD004", Severity::Warning, "client", "inventory-exporter"),
        ];
        let lists = vec![ClientLists {
            client: "inventory-exporter".into(),
            lists: 100.0,
            cluster_scope: 100.0,
            from_etcd: 100.0,
            unpaginated: 100.0,
            expensive: 100.0,
            ..ClientLists::default()
        }];
        let ctx = crate::testutil::ctx_hour();
        // The top offender's profile query fails here; the advice for the other is given first.
        let _ = attach(&mut findings, &ctx, &Refusing, &lists);
        assert!(findings[0].remedies.is_empty());
        let advice = &findings[1].remedies;
        assert_eq!(advice.len(), 1, "{advice:#?}");
        assert!(advice[0].body.contains("resourceVersion"), "{}", advice[0].body);
    }

    /// On-call review 52, item 1: a client answered 5xx (etcd timing out) at 3 requests/s, and
    /// one whose updates conflicted at 2.7/s, were given the throttle; the client whose LISTs
    /// loaded etcd got none. Below the rate floor no AUD006 client is an offender, and one
    /// meeting server errors ranks after the clients whose load a check measured.
    #[test]
    fn a_slow_client_meeting_5xx_or_409_is_no_offender_and_server_errors_rank_after_causes() {
        let ctx = crate::testutil::ctx_hour();
        let aud006 = |answer: &str, requests: f64| {
            let mut finding = f("AUD006", Severity::Critical, "client", "flaky-operator");
            finding.title = format!("flaky-operator: 31% of its requests answered with {answer}");
            finding.evidence.measures.push(findings::Measure::new("requests", requests, "count"));
            finding
        };
        let lister = f("AUD004", Severity::Warning, "client", "inventory");
        // 3 requests/s over the hour: below the 5/s floor, whatever the answer.
        for answer in ["a server error (5xx)", "a conflict (409)", "throttling (429)"] {
            let findings = vec![aud006(answer, 3.0 * 3600.0), lister.clone()];
            assert_eq!(top_offender(&findings, &ctx), Some(1), "{answer}");
        }
        // Above it: a conflicting or throttled writer is the offender as before; one meeting
        // server errors still ranks after the expensive lister.
        let busy = |answer: &str| vec![aud006(answer, 50.0 * 3600.0), lister.clone()];
        assert_eq!(top_offender(&busy("a conflict (409)"), &ctx), Some(0));
        assert_eq!(top_offender(&busy("a server error (5xx)"), &ctx), Some(1));
        assert_eq!(top_offender(&busy("a server error (5xx)")[..1], &ctx), Some(0), "alone, it is the one");
    }

    #[test]
    fn the_worst_client_finding_of_a_trusted_check_is_the_offender() {
        let findings = vec![
            f("AUD007", Severity::Critical, "webhook", "w"),
            f("AUD001", Severity::Warning, "user", "u"),
            f("AUD004", Severity::Warning, "client", "c"),
            f("AUD005", Severity::Warning, "client", "explained"),
        ];
        let ctx = crate::testutil::ctx_hour();
        assert_eq!(top_offender(&findings, &ctx), Some(2));
        assert_eq!(top_offender(&findings[..1], &ctx), None);
        assert_eq!(top_offender(&[f("AUD002", Severity::Info, "client", "c")], &ctx), None);
    }

    fn profile(rows: &[(&str, &str, &str, &str, bool, i64)]) -> ResultTable {
        profile_seen(&rows.iter().map(|r| (*r, "", "")).collect::<Vec<_>>())
    }

    /// One profile row: user, verb, API group, resource, namespaced, requests.
    type Row<'a> = (&'a str, &'a str, &'a str, &'a str, bool, i64);

    /// Profile rows with the groups (`tostring(User.groups)`) and agent product seen.
    fn profile_seen(rows: &[(Row<'_>, &str, &str)]) -> ResultTable {
        ResultTable::new(
            &[
                "UserName",
                "Verb",
                "ApiGroup",
                "Resource",
                "Namespaced",
                "Requests",
                "Rejected",
                "Groups",
                "Products",
            ],
            rows.iter()
                .map(|((u, v, g, r, ns, n), groups, product)| {
                    vec![
                        text(u),
                        text(v),
                        text(g),
                        text(r),
                        Cell::Bool(*ns),
                        Cell::Int(*n),
                        Cell::Int(0),
                        if groups.is_empty() { Cell::List(vec![]) } else { list(&[groups]) },
                        if product.is_empty() { Cell::List(vec![]) } else { list(&[product]) },
                    ]
                })
                .collect(),
        )
    }

    /// Profile rows with the load (the finding's measure) each carried: (row, load, groups, product).
    fn profile_load(rows: &[(Row<'_>, f64, &str, &str)]) -> ResultTable {
        let mut table = profile_seen(&rows.iter().map(|(r, _, g, p)| (*r, *g, *p)).collect::<Vec<_>>());
        table.columns.push("Load".to_owned());
        for (row, (_, load, _, _)) in table.rows.iter_mut().zip(rows) {
            row.push(Cell::Real(*load));
        }
        table
    }

    /// Diagnose review item 1a: a service account sending every expensive LIST with a kubelet
    /// user agent was called "a node's kubelet" after a node that sent none of them (every
    /// identity ever seen with the agent was looked at, ranked by all their requests), and got
    /// no throttle.
    #[test]
    fn a_service_account_with_a_kubelet_agent_is_throttled_not_taken_for_a_node() {
        let sa = "system:serviceaccount:observability:inventory-exporter";
        let node_groups = r#"["system:nodes","system:authenticated"]"#;
        let nodes: Vec<String> = (0..100).map(|i| format!("system:node:aks-nodepool1-{i:02}")).collect();
        let mut rows: Vec<(Row<'_>, f64, &str, &str)> = nodes
            .iter()
            .map(|n| {
                (
                    (n.as_str(), "update", "coordination.k8s.io", "leases", true, 600),
                    0.0,
                    node_groups,
                    "kubelet",
                )
            })
            .collect();
        rows.push((
            (sa, "list", "", "pods", false, 240),
            1_066_000.0,
            r#"["system:serviceaccounts","system:authenticated"]"#,
            "kubelet",
        ));
        let d = decide("kubelet", &profile_load(&rows)).expect("reads").expect("a throttle");
        assert_eq!(
            d.plan.subjects,
            vec![ApfSubject::ServiceAccount {
                namespace: "observability".into(),
                name: "inventory-exporter".into()
            }]
        );
        assert_eq!(d.plan.rules.len(), 1, "{:?}", d.plan.rules);
        assert_eq!(d.plan.rules[0].resources.iter().collect::<Vec<_>>(), ["pods"]);
        let note = d.note("kubelet", "the time in expensive LISTs").expect("the nodes are left out");
        assert!(note.starts_with(&format!("The throttle names only {sa} (100% of the time in expensive LISTs of kubelet); 100 other identities seen with this user agent are left out: system:node:aks-nodepool1-00 (0%)")), "{note}");
        assert!(note.ends_with(" and 97 more."), "{note}");
        // The nodes themselves, sending the load, are still not throttled.
        let why = decide("kubelet", &profile_load(&[rows[0], rows[1]].map(|(r, _, g, p)| (r, 10.0, g, p))))
            .expect("reads")
            .expect_err("no throttle");
        assert!(
            why.contains("(system:node:aks-nodepool1-00 is a node's kubelet, in group system:nodes)"),
            "{why}"
        );
    }

    /// Diagnose review s38 item 1: an operator's 200 cluster-wide LISTs of pods (all of the
    /// expensive-LIST time its AUD004 finding blames) beside 3,000 gets of configmaps and 600
    /// requests on its leader-election lease: the throttle ranked resources by requests, stopped
    /// at 90% of them, and held configmaps and leases but not one LIST of pods.
    #[test]
    fn an_expensive_list_throttle_holds_the_lists_not_the_busiest_cheap_resources() {
        let sa = "system:serviceaccount:ops:chatty-operator";
        let groups = r#"["system:serviceaccounts","system:authenticated"]"#;
        let rows = profile_load(&[
            ((sa, "get", "", "configmaps", true, 3000), 0.0, groups, "chatty-operator"),
            ((sa, "get", "coordination.k8s.io", "leases", true, 300), 0.0, groups, "chatty-operator"),
            ((sa, "update", "coordination.k8s.io", "leases", true, 300), 0.0, groups, "chatty-operator"),
            ((sa, "list", "", "pods", false, 200), 600_000.0, groups, "chatty-operator"),
        ]);
        let d = decide("chatty-operator", &rows).expect("reads").expect("a throttle");
        let rules: Vec<(Vec<&str>, Vec<&str>, bool)> = d
            .plan
            .rules
            .iter()
            .map(|r| {
                (
                    r.verbs.iter().map(String::as_str).collect(),
                    r.resources.iter().map(String::as_str).collect(),
                    r.cluster_scope,
                )
            })
            .collect();
        assert_eq!(rules, [(vec!["list"], vec!["pods"], true)], "{:?}", d.plan.rules);
        // Without a load column, requests rank: the busiest resources, to 90% of them.
        let rows = profile_seen(&[
            ((sa, "get", "", "configmaps", true, 3000), groups, "chatty-operator"),
            ((sa, "list", "", "pods", false, 200), groups, "chatty-operator"),
        ]);
        let d = decide("chatty-operator", &rows).expect("reads").expect("a throttle");
        let held: Vec<Vec<&str>> =
            d.plan.rules.iter().map(|r| r.resources.iter().map(String::as_str).collect()).collect();
        assert_eq!(held, [vec!["configmaps"]]);
    }

    /// Diagnose review item 1b: one system:masters user sharing the kubectl agent (0.6 s of
    /// expensive LISTs) blocked the throttle of the user who sent the other 1,067 s.
    #[test]
    fn a_system_masters_bystander_does_not_block_the_throttle_of_the_identity_that_sent_the_load() {
        let admins = r#"["platform-admins","system:authenticated"]"#;
        let masters = r#"["system:masters","system:authenticated"]"#;
        let rows = profile_load(&[
            (
                ("dave@contoso.com", "list", "", "pods", false, 240),
                1_067_960.0,
                r#"["devs","system:authenticated"]"#,
                "kubectl",
            ),
            (("alice@contoso.com", "list", "", "pods", false, 73), 590.0, masters, "kubectl"),
            (("bob@contoso.com", "list", "", "events", true, 68), 620.0, admins, "kubectl"),
        ]);
        let d = decide("kubectl", &rows).expect("reads").expect("a throttle of dave");
        assert_eq!(d.plan.subjects, vec![ApfSubject::User("dave@contoso.com".into())]);
        // The masters user carrying most of the load still gets the explanation.
        let rows = profile_load(&[
            (("dave@contoso.com", "list", "", "pods", false, 240), 590.0, admins, "kubectl"),
            (("alice@contoso.com", "list", "", "pods", false, 73), 1_067_960.0, masters, "kubectl"),
        ]);
        let why = decide("kubectl", &rows).expect("reads").expect_err("no throttle");
        assert!(why.starts_with("alice@contoso.com is in group system:masters"), "{why}");
        // A masters user with a large share that is not most is left out of the throttle, and said to be.
        let rows = profile_load(&[
            (("dave@contoso.com", "list", "", "pods", false, 240), 600.0, admins, "kubectl"),
            (("alice@contoso.com", "list", "", "pods", false, 73), 400.0, masters, "kubectl"),
        ]);
        let d = decide("kubectl", &rows).expect("reads").expect("a throttle of dave");
        assert_eq!(d.plan.subjects, vec![ApfSubject::User("dave@contoso.com".into())]);
        let note = d.note("kubectl", "the time in expensive LISTs").expect("alice is left out");
        assert!(
            note.contains("alice@contoso.com (40%, in group system:masters, which no throttle can hold)"),
            "{note}"
        );
        // Re-review s26: a node's kubelet at 30% and a masters user at 30% were judged apart,
        // each under half, and the 40% left was throttled as if it were the fix.
        let nodes = r#"["system:nodes","system:authenticated"]"#;
        let rows = profile_load(&[
            (("dave@contoso.com", "list", "", "pods", false, 240), 400.0, admins, "kubectl"),
            (("alice@contoso.com", "list", "", "pods", false, 73), 300.0, masters, "kubectl"),
            (("system:node:n1", "list", "", "pods", false, 73), 300.0, nodes, "kubectl"),
        ]);
        let why = decide("kubectl", &rows).expect("reads").expect_err("no throttle: 60% cannot be held");
        assert!(why.contains("system:node:n1 is a node's kubelet"), "{why}");
        // The client is not called the control plane: the identity that sent through it is.
        assert!(
            why.starts_with("60% of kubectl's load comes from identities no throttle should hold or can hold, most from system:node:n1 (30%)"),
            "{why}"
        );
        // Re-review s26: a nameless 60% was dropped and the 40% user throttled; all nameless
        // read "sends from 1 identities, none of them a large part".
        let rows = profile_load(&[
            (("", "list", "", "pods", false, 240), 600.0, admins, "kubectl"),
            (("alice@contoso.com", "list", "", "pods", false, 73), 400.0, admins, "kubectl"),
        ]);
        let why = decide("kubectl", &rows).expect("reads").expect_err("no throttle of alice alone");
        assert!(why.starts_with("60% of kubectl's load carries no user name"), "{why}");
        let rows = profile_load(&[(("", "list", "", "pods", false, 240), 600.0, admins, "kubectl")]);
        let why = decide("kubectl", &rows).expect("reads").expect_err("no throttle");
        assert!(why.starts_with("100% of kubectl's load carries no user name"), "{why}");
    }

    /// Diagnose review item 1c: the FlowSchema named every identity of the kubectl agent, so
    /// applying it throttled three admins whose LISTs took 1.8 s with the user whose took 1,066 s.
    #[test]
    fn the_flowschema_names_only_the_identities_that_carried_the_load() {
        let admins = r#"["platform-admins","system:authenticated"]"#;
        let rows = profile_load(&[
            (("dave@contoso.com", "list", "", "pods", false, 240), 1_066_000.0, r#"["devs"]"#, "kubectl"),
            (("alice@contoso.com", "list", "", "pods", true, 73), 590.0, admins, "kubectl"),
            (("bob@contoso.com", "list", "", "events", true, 68), 620.0, admins, "kubectl"),
            (("carol@contoso.com", "get", "", "pods", true, 69), 610.0, admins, "kubectl"),
        ]);
        let d = decide("kubectl", &rows).expect("reads").expect("a throttle");
        assert_eq!(d.plan.subjects, vec![ApfSubject::User("dave@contoso.com".into())]);
        // Its rules are dave's requests only: cluster-scope LISTs of pods.
        assert_eq!(d.plan.rules.len(), 1);
        assert!(d.plan.rules[0].cluster_scope && d.plan.rules[0].namespaces.is_empty(), "{:?}", d.plan.rules);
        assert_eq!(d.plan.groups_seen.keys().collect::<Vec<_>>(), ["dave@contoso.com"]);
        let note = d.note("kubectl", "the time in expensive LISTs").expect("the admins are left out");
        assert_eq!(
            note,
            "The throttle names only dave@contoso.com (100% of the time in expensive LISTs of kubectl); 3 other \
             identities seen with this user agent are left out: bob@contoso.com (0.1%), carol@contoso.com (0.1%), \
             alice@contoso.com (0.1%)."
        );
        // Two identities that each carried a real share are both throttled, and the note is left out.
        let rows = profile_load(&[
            (("dave@contoso.com", "list", "", "pods", false, 240), 700.0, "", "kubectl"),
            (("erin@contoso.com", "list", "", "pods", false, 240), 300.0, "", "kubectl"),
        ]);
        let d = decide("kubectl", &rows).expect("reads").expect("a throttle");
        assert_eq!(d.plan.subjects.len(), 2);
        assert_eq!(d.note("kubectl", "x"), None);
    }

    /// Re-review s26 item 7: six identities with about a sixth of the load each; the throttle
    /// named five and left out one with 16%, without saying why.
    #[test]
    fn every_identity_that_carries_a_tenth_of_the_load_is_throttled_not_only_five() {
        let users: Vec<String> = (1..=6).map(|i| format!("u{i}@x.com")).collect();
        let rows = profile_load(
            &users
                .iter()
                .enumerate()
                .map(|(i, u)| ((u.as_str(), "list", "", "pods", false, 40), 150.0 + i as f64, "", "kubectl"))
                .collect::<Vec<_>>(),
        );
        let d = decide("kubectl", &rows).expect("reads").expect("a throttle");
        let mut named: Vec<String> = d
            .plan
            .subjects
            .iter()
            .map(|s| match s {
                ApfSubject::User(u) => u.clone(),
                other => format!("{other:?}"),
            })
            .collect();
        named.sort();
        assert_eq!(named, users);
        assert_eq!(d.note("kubectl", "x"), None);
    }

    #[test]
    fn the_load_a_finding_ranks_identities_by_is_what_it_blames_the_client_for() {
        let mut finding = f("AUD004", Severity::Warning, "client", "kubectl");
        let load = load_of(&finding);
        assert!(
            load.kql.contains("Verb == \"list\"") && load.kql.contains("resourceVersion"),
            "{}",
            load.kql
        );
        let q = profile_query(&crate::testutil::ctx_hour(), "client", "kubectl", &load);
        assert!(q.contains(&format!("Load = sum(todouble({}))", load.kql)), "{q}");
        finding.code = "AUD006".into();
        finding.title = "kubectl: 12% of its updates conflict (409)".into();
        assert_eq!(load_of(&finding).what, "the conflicting updates");
        finding.code = "AUD001".into();
        assert_eq!(load_of(&finding), Load { kql: "1.0".into(), what: "the requests" });
    }

    #[test]
    fn the_plan_names_the_identity_and_what_it_does() {
        let sa = "system:serviceaccount:inventory:pod-inventory";
        let rows = profile(&[
            (sa, "list", "", "pods", false, 1800),
            (sa, "list", "", "pods", true, 100),
            (sa, "get", "", "configmaps", true, 5),
        ]);
        let plan = plan("pod-inventory", &rows).expect("reads").expect("a plan");
        assert_eq!(
            plan.subjects,
            vec![ApfSubject::ServiceAccount { namespace: "inventory".into(), name: "pod-inventory".into() }]
        );
        assert_eq!(plan.rules.len(), 1, "configmaps are under 10% of the traffic");
        let rule = &plan.rules[0];
        assert_eq!(rule.resources.iter().collect::<Vec<_>>(), ["pods"]);
        assert_eq!(rule.verbs.iter().collect::<Vec<_>>(), ["list"]);
        assert!(rule.cluster_scope);
        assert_eq!(rule.namespaces.iter().collect::<Vec<_>>(), ["*"]);
    }

    #[test]
    fn the_control_plane_is_not_throttled() {
        // AUD006 once named a controller with 2 conflicts of 31 updates the top offender.
        let sa = "system:serviceaccount:kube-system:job-controller";
        let rows = profile(&[(sa, "update", "batch", "jobs", true, 31)]);
        let why = plan("kube-controller-manager/system:serviceaccount:kube-system:job-controller", &rows)
            .expect("reads")
            .expect_err("no plan");
        assert!(why.contains("part of the control plane (kube-controller-manager)"), "{why}");
        assert!(!why.contains("  "), "{why}");
        // A user-named finding of the scheduler's identity.
        let rows = profile(&[("system:kube-scheduler", "list", "", "pods", false, 100)]);
        let why = plan("system:kube-scheduler", &rows).expect("reads").expect_err("no plan");
        assert!(why.contains("(system:kube-scheduler)"), "{why}");
        // Nor are the add-ons every node or pod depends on: kube-proxy, any kube-system
        // service account (review 48, item 3).
        for (client, user) in [
            ("coredns", "system:serviceaccount:kube-system:coredns"),
            ("cilium-agent", "system:serviceaccount:kube-system:cilium"),
            ("kube-proxy", "system:kube-proxy"),
        ] {
            let rows = profile(&[(user, "list", "", "pods", false, 100)]);
            let why = plan(client, &rows).expect("reads").expect_err("no plan");
            assert!(
                why.contains(&format!(
                    "{user} (100%), a cluster add-on in kube-system, which nodes and pods may depend on ("
                )),
                "{why}"
            );
        }
        // A service account of another namespace is a client like any other.
        let rows = profile(&[("system:serviceaccount:monitoring:cilium", "list", "", "pods", false, 100)]);
        assert!(plan("cilium-agent", &rows).expect("reads").is_ok());
    }

    /// Remedy review item 2: a user-named finding (AUD001) of kube-controller-manager's
    /// EndpointSlice controller identity got a throttle moving it out of workload-high, because
    /// the guard looked only at the name's product, never at the agents it sent through.
    #[test]
    fn a_controller_identity_named_by_user_is_not_throttled() {
        let sa = "system:serviceaccount:kube-system:endpointslice-controller";
        let sa_groups =
            r#"["system:serviceaccounts","system:serviceaccounts:kube-system","system:authenticated"]"#;
        let row = (sa, "update", "discovery.k8s.io", "endpointslices", true, 2520);
        let why = plan(sa, &profile_seen(&[(row, sa_groups, "kube-controller-manager")]))
            .expect("reads")
            .expect_err("no plan");
        assert!(why.contains("part of the control plane"), "{why}");
        assert!(why.ends_with("(it sends through kube-controller-manager), and throttling it would slow every workload that depends on it; find what keeps it busy instead (the objects and clients in this finding's evidence)"), "{why}");
        // By its name alone: a kube-system controller service account.
        let why = plan(sa, &profile_seen(&[(row, sa_groups, "")])).expect("reads").expect_err("no plan");
        assert!(why.contains("kube-controller-manager controller"), "{why}");
        // Any kube-system identity sending through the scheduler or a cloud controller manager.
        let ccm = "system:serviceaccount:kube-system:cloud-node-manager";
        let why = plan(
            "cloud-node-manager",
            &profile_seen(&[(
                (ccm, "update", "", "nodes", false, 100),
                sa_groups,
                "cloud-controller-manager",
            )]),
        )
        .expect("reads")
        .expect_err("no plan");
        assert!(why.contains(&format!("({ccm} sends through cloud-controller-manager)")), "{why}");
        // A node, by name or by group.
        for (user, groups) in
            [("system:node:aks-1", ""), ("node-1", r#"["system:nodes","system:authenticated"]"#)]
        {
            let why = plan(
                user,
                &profile_seen(&[((user, "update", "", "nodes/status", false, 100), groups, "kubelet")]),
            )
            .expect("reads")
            .expect_err("no plan");
            assert!(why.contains("(it is a node's kubelet, in group system:nodes)"), "{user}: {why}");
        }
    }

    /// Remedy review item 4: an admin kubeconfig's user (group system:masters) got a throttle
    /// the mandatory `exempt` FlowSchema makes void.
    #[test]
    fn an_identity_in_system_masters_gets_no_throttle_and_is_told_why() {
        let groups = r#"["system:masters","system:authenticated"]"#;
        let rows = profile_seen(&[(
            ("kubernetes-admin", "list", "", "pods", false, 426),
            groups,
            "inventory-exporter",
        )]);
        let why = plan("inventory-exporter", &rows).expect("reads").expect_err("no plan");
        assert!(why.contains("kubernetes-admin is in group system:masters"), "{why}");
        assert!(why.contains("no throttle can take effect"), "{why}");
        assert!(why.contains("identity of its own outside system:masters"), "{why}");
        // Other groups seen travel with the plan, for the check against the cluster's FlowSchemas.
        let rows = profile_seen(&[(
            ("ci-bot", "list", "", "pods", false, 426),
            r#"["ci:runners","system:authenticated"]"#,
            "ci",
        )]);
        let p = plan("ci", &rows).expect("reads").expect("a plan");
        assert_eq!(
            p.groups_seen.get("ci-bot").map(|g| g.iter().map(String::as_str).collect::<Vec<_>>()),
            Some(vec!["ci:runners", "system:authenticated"])
        );
    }

    #[test]
    fn a_fleet_of_identities_is_not_throttled_by_identity() {
        let rows: Vec<(String, i64)> =
            (0..100).map(|i| (format!("system:serviceaccount:ci:runner-{i}"), 10)).collect();
        let table = profile(
            &rows
                .iter()
                .map(|(u, n)| (u.as_str(), "update", "coordination.k8s.io", "leases", true, *n))
                .collect::<Vec<_>>(),
        );
        let why = plan("ci-runner", &table).expect("reads").expect_err("no plan");
        assert!(why.contains("100 identities"), "{why}");
    }

    #[test]
    fn a_client_profile_filters_on_the_agent_product_first() {
        let ctx = crate::testutil::ctx_hour();
        let load = Load { kql: "1.0".into(), what: "the requests" };
        let q = profile_query(
            &ctx,
            "client",
            "kube-controller-manager/system:serviceaccount:kube-system:job-controller",
            &load,
        );
        assert!(
            q.contains("\n| where UserAgent startswith_cs \"kube-controller-manager\"\n| extend Client"),
            "{q}"
        );
        assert!(q.contains("| where Client == \"kube-controller-manager/system:serviceaccount:kube-system:job-controller\""), "{q}");
        for (kind, name) in
            [("user", "system:serviceaccount:reporting:inventory-exporter"), ("client", "(no user agent)")]
        {
            assert!(!profile_query(&ctx, kind, name, &load).contains("startswith_cs"), "{kind} {name}");
        }
    }
}
