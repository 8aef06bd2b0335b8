//! The top offender: the client or identity the worst client finding names. Its finding gets
//! the throttling remedy (a FlowSchema and PriorityLevelConfiguration for its identity, verbs
//! and resources) and the tuning advice.

use std::collections::{BTreeMap, BTreeSet};

use findings::{Finding, Severity};
use remedy::{ApfSubject, ClientPattern, ResourceRule, ThrottlePlan, throttle_remedies, tuning_advice};

use crate::aud004_expensive_lists::ClientLists;
use crate::audit::{AuditContext, CheckError, QueryRunner, VersionSource, run_few};
use crate::client::CLIENT_KQL;
use crate::kql::{RESOURCE, USER_NAME, string_literal};
use crate::table::ResultTable;

/// Checks whose client findings name an offender, in the order they are trusted.
const OFFENDER_CHECKS: [&str; 4] = ["AUD004", "AUD001", "AUD006", "AUD002"];

/// Identities a throttle names at most: a client with more (kubelets, one per node) is not one
/// offender but a fleet, and is not throttled by identity.
const MAX_IDENTITIES: usize = 5;
/// Resources a throttle names at most.
const MAX_RULES: usize = 5;

/// The index of the finding that names the top offender in `findings` (sorted worst first).
pub fn top_offender(findings: &[Finding]) -> Option<usize> {
    let candidates = findings.iter().enumerate().filter(|(_, f)| {
        f.severity >= Severity::Warning
            && OFFENDER_CHECKS.contains(&f.code.as_str())
            && (f.subject.kind == "client" || f.subject.kind == "user")
    });
    // Worst severity first; within it, the more trusted check.
    candidates
        .min_by_key(|(i, f)| {
            (
                std::cmp::Reverse(f.severity),
                OFFENDER_CHECKS.iter().position(|c| *c == f.code).unwrap_or(9),
                *i,
            )
        })
        .map(|(i, _)| i)
}

/// What the offender sends: requests per identity, verb, API group, resource and scope.
pub fn profile_query(ctx: &AuditContext, kind: &str, name: &str) -> String {
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
         | summarize Requests = count(), Rejected = countif(toint(ResponseStatus.code) == 429), \
         Groups = make_set(tostring(User.groups), 5), Products = make_set(extract(@\"^([^/ ]*)\", 1, UserAgent), 5) \
         by UserName, Verb, ApiGroup = tostring(ObjectRef.apiGroup), Resource = {RESOURCE}, \
         Namespaced = isnotempty(tostring(ObjectRef.namespace))\n| order by Requests desc, UserName asc, Verb asc, ApiGroup asc, Resource asc, Namespaced asc",
        ctx.requests(),
        string_literal(name)
    )
}

/// Clients (user-agent products) of the control plane itself (its identities are
/// [`remedy::CONTROL_PLANE_USERS`]): a throttle on them slows every workload's controllers, so
/// none is proposed.
const CONTROL_PLANE_PRODUCTS: [&str; 4] =
    ["kube-controller-manager", "kube-scheduler", "kube-apiserver", "cloud-controller-manager"];

/// What the audit log shows of one identity of the offender.
#[derive(Debug, Default)]
struct Identity {
    /// Its requests in the window.
    requests: f64,
    /// Those rejected with 429 Too Many Requests.
    rejected: f64,
    /// The groups it was seen with (`User.groups`).
    groups: BTreeSet<String>,
    /// The products of the user agents it sent through (`kube-controller-manager`).
    products: BTreeSet<String>,
}

/// Which part of the control plane identity `user` is, from its name, its groups and the
/// agents it was seen sending through.
fn control_plane_identity(client: &str, user: &str, id: &Identity) -> Option<String> {
    if remedy::CONTROL_PLANE_USERS.contains(&user) {
        return Some(user.to_owned());
    }
    // The finding names the identity already: "it".
    let who = if user == client { "it" } else { user };
    if let Some(product) = id.products.iter().find(|p| CONTROL_PLANE_PRODUCTS.contains(&p.as_str())) {
        return Some(format!("{who} sends through {product}"));
    }
    if let Some(name) = user.strip_prefix("system:serviceaccount:kube-system:")
        && name.ends_with("-controller")
    {
        return Some(format!(
            "{who} is the identity of a kube-controller-manager controller, as kube-system service accounts named *-controller are"
        ));
    }
    if user.starts_with("system:node:") || id.groups.contains("system:nodes") {
        return Some(format!("{who} is a node's kubelet, in group system:nodes"));
    }
    None
}

/// Why `client` (or one of the identities `users`) is not throttled because it is the control
/// plane: the client's agent, or an identity's name, groups or agents.
fn control_plane(client: &str, users: &[(&str, &Identity)]) -> Option<String> {
    let product = crate::client::product(client);
    let component = if CONTROL_PLANE_PRODUCTS.contains(&product) {
        product.to_owned()
    } else {
        users.iter().find_map(|(user, id)| control_plane_identity(client, user, id))?
    };
    Some(format!(
        "{client} is part of the control plane ({component}), and throttling it would slow every workload that \
         depends on it; find what keeps it busy instead (the objects and clients in this finding's evidence)"
    ))
}

/// Why no throttle can hold `users`: an identity in group `system:masters` is classified by the
/// mandatory `exempt` FlowSchema before any other.
fn exempt(users: &[(&str, &Identity)]) -> Option<String> {
    let (user, _) = users.iter().find(|(_, id)| id.groups.contains("system:masters"))?;
    Some(format!(
        "{user} is in group system:masters (as the audit log shows), and the mandatory FlowSchema `exempt` \
         (matchingPrecedence 1, which no other FlowSchema may use) sends every request of that group to the exempt \
         priority level before any other FlowSchema is consulted, so no throttle can take effect. Give this client an \
         identity of its own outside system:masters (a service account or user with only the rights it needs), then \
         throttle that identity if it is still needed"
    ))
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
    let total: f64 = rows.rows.iter().map(|row| c_requests.num(row)).sum();
    if total <= 0.0 {
        return Ok(Err("no requests of this client in the window".to_owned()));
    }
    let mut per_user: BTreeMap<&str, Identity> = BTreeMap::new();
    for row in &rows.rows {
        let id = per_user.entry(c_user.text(row)).or_default();
        id.requests += c_requests.num(row);
        id.rejected += c_rejected.num(row);
        for g in c_groups.texts(row) {
            id.groups.extend(parse_groups(&g));
        }
        id.products.extend(c_products.texts(row).into_iter().filter(|p| !p.is_empty()));
    }
    let mut users: Vec<(&str, &Identity)> = per_user.iter().map(|(u, id)| (*u, id)).collect();
    users.sort_by(|a, b| b.1.requests.total_cmp(&a.1.requests).then_with(|| a.0.cmp(b.0)));
    let mut chosen: Vec<(&str, &Identity)> = Vec::new();
    let mut covered = 0.0;
    for (user, id) in &users {
        if covered >= 0.9 * total || chosen.len() == MAX_IDENTITIES {
            break;
        }
        if !user.is_empty() {
            chosen.push((user, id));
        }
        covered += id.requests;
    }
    if let Some(why) = control_plane(client, &chosen) {
        return Ok(Err(why));
    }
    if let Some(why) = exempt(&chosen) {
        return Ok(Err(why));
    }
    if chosen.is_empty() || covered < 0.5 * total {
        return Ok(Err(format!(
            "{client} sends from {} identities, none of them a large part of its traffic: throttle it by group, or fix \
             the client",
            users.len()
        )));
    }
    let rejected: f64 = chosen.iter().map(|(_, id)| id.rejected).sum();
    let chosen_users: Vec<&str> = chosen.iter().map(|(u, _)| *u).collect();
    // Verbs and scopes per (group, resource), over the chosen identities' requests.
    #[derive(Default)]
    struct Acc {
        requests: f64,
        verbs: BTreeSet<String>,
        cluster: bool,
        namespaced: bool,
    }
    let mut per_resource: BTreeMap<(String, String), Acc> = BTreeMap::new();
    for row in rows.rows.iter().filter(|row| chosen_users.contains(&c_user.text(row))) {
        let resource = c_resource.text(row);
        if resource.is_empty() {
            continue;
        }
        let acc = per_resource.entry((c_group.text(row).to_owned(), resource.to_owned())).or_default();
        acc.requests += c_requests.num(row);
        acc.verbs.insert(c_verb.text(row).to_owned());
        let namespaced = matches!(c_namespaced.cell(row), crate::table::Cell::Bool(true));
        acc.namespaced |= namespaced;
        acc.cluster |= !namespaced;
    }
    let mut resources: Vec<((String, String), Acc)> = per_resource.into_iter().collect();
    resources.sort_by(|a, b| b.1.requests.total_cmp(&a.1.requests).then_with(|| a.0.cmp(&b.0)));
    let resource_total: f64 = resources.iter().map(|r| r.1.requests).sum();
    let mut rules = Vec::new();
    let mut covered = 0.0;
    for ((group, resource), acc) in resources {
        if rules.len() == MAX_RULES || covered >= 0.9 * resource_total {
            break;
        }
        covered += acc.requests;
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
    Ok(Ok(plan))
}

/// The access pattern of `client` for the tuning advice.
pub fn pattern(client: &str, user: Option<&str>, lists: &[ClientLists], conflicts: bool) -> ClientPattern {
    let mine = lists.iter().find(|l| match user {
        Some(u) => l.users.iter().any(|x| x == u),
        None => crate::client::display_client(&l.client) == client,
    });
    let mut p = ClientPattern { update_conflicts: conflicts, ..ClientPattern::default() };
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
    let top = top_offender(findings);
    for (i, f) in findings.iter_mut().enumerate() {
        if Some(i) != top
            && f.code == "AUD004"
            && f.severity >= Severity::Warning
            && f.subject.kind == "client"
            && f.remedies.is_empty()
        {
            let name = f.subject.name.clone();
            f.remedies.push(tuning_advice(&name, &pattern(&name, None, lists, false)));
        }
    }
    let Some(index) = top else { return Ok(()) };
    let (kind, name) = (findings[index].subject.kind.clone(), findings[index].subject.name.clone());
    let conflicts =
        findings.iter().any(|f| f.code == "AUD006" && f.subject.name == name && f.title.contains("409"));
    let (_, rows) = run_few(runner, profile_query(ctx, &kind, &name))?;
    let user = (kind == "user").then_some(name.as_str());
    let advice = tuning_advice(&name, &pattern(&name, user, lists, conflicts));
    let finding = &mut findings[index];
    match plan(&name, &rows)? {
        Ok(plan) => {
            // A remedy that cannot be written is left out rather than failing the diagnosis.
            if let Ok(mut remedies) = throttle_remedies(&plan, ctx.kubernetes_version) {
                let origin = match ctx.version_source {
                    VersionSource::Given => "as given",
                    VersionSource::Data => "as seen in the audit log",
                    VersionSource::Default => "the default; pass --kubernetes-version to change it",
                };
                if let Some(first) = remedies.first_mut() {
                    first.title.push_str(&format!(" [Kubernetes version {origin}]"));
                }
                finding.remedies.extend(remedies);
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

    #[test]
    fn the_worst_client_finding_of_a_trusted_check_is_the_offender() {
        let findings = vec![
            f("AUD007", Severity::Critical, "webhook", "w"),
            f("AUD001", Severity::Warning, "user", "u"),
            f("AUD004", Severity::Warning, "client", "c"),
            f("AUD005", Severity::Warning, "client", "explained"),
        ];
        assert_eq!(top_offender(&findings), Some(2));
        assert_eq!(top_offender(&findings[..1]), None);
        assert_eq!(top_offender(&[f("AUD002", Severity::Info, "client", "c")]), None);
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
        // A kube-system add-on is still a client like any other.
        let rows = profile(&[("system:serviceaccount:kube-system:coredns", "list", "", "pods", false, 100)]);
        assert!(plan("coredns", &rows).expect("reads").is_ok());
        let rows = profile(&[("system:serviceaccount:kube-system:cilium", "list", "", "pods", false, 100)]);
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
        let q = profile_query(
            &ctx,
            "client",
            "kube-controller-manager/system:serviceaccount:kube-system:job-controller",
        );
        assert!(
            q.contains("\n| where UserAgent startswith_cs \"kube-controller-manager\"\n| extend Client"),
            "{q}"
        );
        assert!(q.contains("| where Client == \"kube-controller-manager/system:serviceaccount:kube-system:job-controller\""), "{q}");
        for (kind, name) in
            [("user", "system:serviceaccount:reporting:inventory-exporter"), ("client", "(no user agent)")]
        {
            assert!(!profile_query(&ctx, kind, name).contains("startswith_cs"), "{kind} {name}");
        }
    }
}
