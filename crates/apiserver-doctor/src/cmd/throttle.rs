//! `apiserver-doctor throttle`: the FlowSchema and PriorityLevelConfiguration that slow one
//! client down with API Priority and Fairness, written from who it is and what it sends, for
//! when the offender is known already (from `diagnose`, or from the API server's own metrics)
//! and must be slowed now. The same objects `diagnose` proposes for the top offender.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use remedy::{ApfSubject, KubernetesVersion, ResourceRule, ThrottlePlan};

/// Arguments of `apiserver-doctor throttle`.
#[derive(clap::Args, Debug)]
// Each example fits one help line of 100 columns or is continued with `\`: clap wraps longer
// lines, and a copied first half of a wrapped command throttles more than it says (docs review
// 27 §3: `--verbs list` without its `--resources pods`).
#[command(after_help = "Examples:\n  \
    apiserver-doctor throttle --service-account observability/inventory-exporter \\\n      \
    --verbs list --resources pods\n  \
    apiserver-doctor throttle --user alice@example.com \\\n      \
    --resources jobs.batch,cronjobs.batch --namespaces reporting\n  \
    apiserver-doctor throttle --service-account ci/runner \\\n      \
    --manifests cluster-apf.yaml > throttle.yaml\n\n\
    The YAML goes to standard output, ready for `kubectl apply -f -` once\n\
    reviewed; what to check and how to watch it work go to standard error.\n\
    Exit codes: 0 written; 1 written, but --manifests shows FlowSchemas of the\n\
    cluster that would catch some or all of the requests first, or a level that\n\
    holds them as tightly already; 2 usage error.")]
pub struct Args {
    /// A service account to throttle, as NAMESPACE/NAME (repeatable); NAMESPACE/* is every
    /// service account of the namespace
    #[arg(long = "service-account", value_name = "NS/NAME")]
    pub service_accounts: Vec<String>,
    /// A user to throttle, as the API server authenticates it (repeatable)
    #[arg(long = "user", value_name = "NAME")]
    pub users: Vec<String>,
    /// A group to throttle: every user in it (repeatable)
    #[arg(long = "group", value_name = "NAME")]
    pub groups: Vec<String>,
    /// The verbs to throttle, comma-separated (`list,watch`); `*` is every verb
    #[arg(long, value_name = "VERBS", value_delimiter = ',', default_value = "*")]
    pub verbs: Vec<String>,
    /// The resources, comma-separated, as RESOURCE[.GROUP][/SUBRESOURCE] (`pods`, `jobs.batch`,
    /// `pods/log`, `deployments.apps/scale`); `*` is every resource of every group
    #[arg(long, value_name = "RESOURCES", value_delimiter = ',', default_value = "*")]
    pub resources: Vec<String>,
    /// The namespaces, comma-separated; `*` (the default) is every namespace and cluster-wide
    /// requests too
    #[arg(long, value_name = "NAMESPACES", value_delimiter = ',', default_value = "*")]
    pub namespaces: Vec<String>,
    /// Also throttle requests that name no namespace (cluster-scoped objects, LISTs across
    /// every namespace) when --namespaces names some; needed for cluster-scoped resources
    /// (nodes, persistentvolumes, …) with --namespaces
    #[arg(long)]
    pub cluster_scope: bool,
    /// Hold the identities' leader election too: without it, when the throttle takes in every
    /// resource, a second FlowSchema sends their get, create and update of leases to the built-in
    /// leader-election level, so that a throttled controller keeps its leadership
    #[arg(long)]
    pub throttle_leases: bool,
    /// Concurrency shares of the new priority level, 1 to 100 (the bootstrap catch-all level has
    /// 5; workload-low, the largest, 100)
    #[arg(long, value_name = "N", default_value_t = ThrottlePlan::DEFAULT_SHARES, allow_negative_numbers = true,
          value_parser = shares)]
    pub shares: u32,
    /// matchingPrecedence of the FlowSchema, 2 to 10000: lower is consulted first (the bootstrap
    /// schemas but exempt and probes have 100 and more; only exempt may have 1)
    #[arg(long, value_name = "N", default_value_t = ThrottlePlan::DEFAULT_PRECEDENCE, allow_negative_numbers = true,
          value_parser = precedence)]
    pub precedence: u32,
    /// Name of both objects [default: throttle- and the one identity's kind and name
    /// (throttle-sa-NS.NAME, throttle-user-NAME, throttle-group-NAME); with several, a name made
    /// from all of them, ending in a hash]
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// The cluster's Kubernetes version, which picks the flowcontrol API version [default: 1.29,
    /// flowcontrol.apiserver.k8s.io/v1]
    #[arg(long, value_name = "VERSION")]
    pub kubernetes_version: Option<String>,
    /// Write the throttle even for the control plane's own identities (kube-controller-manager,
    /// kube-scheduler, the nodes' kubelets) or for groups every client is in
    #[arg(long)]
    pub force: bool,
    /// The cluster's FlowSchemas and PriorityLevelConfigurations (files or directories of
    /// `kubectl get flowschemas,prioritylevelconfigurations -o yaml`): says whether one of them
    /// would still catch the client first, or already holds it as tightly. Repeat it for several
    /// paths; one value per flag
    #[arg(long, value_name = "PATH")]
    pub manifests: Vec<PathBuf>,
}

/// `--precedence` as the API server accepts it for a FlowSchema of ours: 2 to 10000. Its
/// validation keeps 1 for the bootstrap schema named `exempt`, so a throttle with 1 is refused by
/// `kubectl apply`.
fn precedence(text: &str) -> Result<u32, String> {
    match text.parse::<u32>() {
        Ok(1) => Err("only the FlowSchema named exempt may use 1 (the API server refuses any other); \
                      give 2 to 10000"
            .to_owned()),
        Ok(n @ 2..=10000) => Ok(n),
        _ => Err(format!("{text:?} is not a matchingPrecedence: give a whole number from 2 to 10000")),
    }
}

/// The most concurrency shares `--shares` takes: those of `workload-low`, the largest of the
/// built-in priority levels. A throttle's level never lends its seats (`lendablePercent: 0`), so
/// shares above every other level's take seats from all of them: with 1,000,000 this one client
/// got about 99.98% of the server's seats (review of the remedies, item 7), and above
/// 2147483647 the field (int32) was refused at apply.
const MAX_SHARES: u64 = 100;

/// `--shares`: concurrency shares, a whole number from 1 to [`MAX_SHARES`] (`--shares -1` was
/// clap's "unexpected argument '-1' found", and clap's range parser said `0 is not in
/// 1..=4294967295`).
fn shares(text: &str) -> Result<u32, String> {
    let n = super::whole_number(text, "shares", 1, MAX_SHARES).map_err(|e| {
        if e.contains("must be at most") {
            format!(
                "{e} (workload-low, the largest built-in level, has 100; a level with more takes seats from every \
                 other level and is no throttle)"
            )
        } else {
            e
        }
    })?;
    u32::try_from(n).map_err(|_| format!("`{text}` is too many: give 1 to {MAX_SHARES}"))
}

/// Runs `apiserver-doctor throttle`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let subjects = subjects(&args)?;
    // Review of the remedies, item 4c: with --force, system:masters was written, and without it
    // refused as "would slow every workload"; the truth is that it cannot work at all.
    if let Some(why) = subjects.iter().find_map(remedy::always_exempt) {
        anyhow::bail!(
            "{why}: the throttle cannot work, with or without --force; give the client an identity of its own \
             outside system:masters and throttle that"
        );
    }
    if !args.force
        && let Some(why) = subjects.iter().find_map(everyone_depends_on)
    {
        anyhow::bail!(
            "{why}: throttling it would slow every workload, or take the cluster down (leader election, node \
             heartbeats), and is not a fix; find the client that makes it busy (`apiserver-doctor diagnose`). \
             --force writes the throttle anyway"
        );
    }
    let rules = rules(&args)?;
    let version = match &args.kubernetes_version {
        Some(v) => v.parse::<KubernetesVersion>().context("--kubernetes-version")?,
        None => KubernetesVersion::DEFAULT,
    };
    if !version.has_apf() {
        anyhow::bail!(
            "--kubernetes-version {version}: API Priority and Fairness is on by default from Kubernetes 1.20; before \
             it, the API server's only limits (--max-requests-inflight, --max-mutating-requests-inflight) cap every \
             client together"
        );
    }
    let who: Vec<String> = subjects.iter().map(ApfSubject::describe).collect();
    let client = who.join(", ");
    let mut plan = ThrottlePlan::new(&client, subjects, rules);
    if let Some(name) = &args.name {
        plan.name = object_name(name)?;
    }
    plan.concurrency_shares = args.shares;
    plan.matching_precedence = args.precedence;
    plan.spare_leases = !args.throttle_leases;
    let cluster = if args.manifests.is_empty() {
        None
    } else {
        Some(super::diagnose::load_manifests(&args.manifests)?)
    };
    let leases = remedy::lease_schema_name(&plan);
    if let Some(cluster) = &cluster {
        check_not_the_clusters_own(cluster, &plan.name, leases.as_deref(), args.name.is_some())?;
    }
    // The cluster's FlowSchemas, when given, say which come first (exit 1); without them, the
    // built-in ones every cluster has do.
    if cluster.as_ref().is_none_or(|c| c.flow_schemas.is_empty()) {
        check_precedence_against_built_ins(&plan, args.force)?;
    }
    let api = version.flow_control_api();
    let yaml = remedy::throttle_manifests(&plan, api)?;
    // Exit 1 when the cluster's own objects say the throttle would not hold the client.
    let mut code = ExitCode::SUCCESS;
    if let Some(cluster) = cluster {
        // Without one FlowSchema read there is nothing to check against: no verdict (it said
        // "the throttle takes effect" after reading only a broken file: ops review s38, item 8).
        let judged = if cluster.flow_schemas.is_empty() {
            eprintln!(
                "note: --manifests holds no FlowSchema: the throttle was not checked against the cluster's (export \
                 them with `kubectl get flowschemas,prioritylevelconfigurations -o yaml`)"
            );
            None
        } else {
            Some(manifests::throttle::judge(&yaml, &cluster))
        };
        match judged {
            Some(Some(verdict)) => {
                for r in manifests::throttle::verdict_remedies(&verdict) {
                    eprintln!("note: {}\n{}\n", r.title, super::indent(&r.body));
                }
                if !verdict.preempted_by.is_empty() || verdict.already_throttled() {
                    code = ExitCode::from(1);
                }
            }
            Some(None) => eprintln!("note: the throttle could not be checked against --manifests"),
            None => {}
        }
    }
    let mut out = std::io::stdout().lock();
    out.write_all(yaml.as_bytes())?;
    out.flush()?;
    let undo = match &leases {
        Some(l) => {
            format!("kubectl delete flowschema/{0} flowschema/{l} prioritylevelconfiguration/{0}", plan.name)
        }
        None => format!("kubectl delete flowschema,prioritylevelconfiguration {}", plan.name),
    };
    // The same words as diagnose's remedies (findings::text::server_dry_run_first).
    eprintln!(
        "{} Then watch whether it queues or rejects {client}'s requests:\n  kubectl get --raw /metrics | grep -E \
         'apiserver_flowcontrol_(rejected_requests_total|current_inqueue_requests).*flow_schema=\"{}\"'\nTo undo: \
         {undo}",
        findings::text::server_dry_run_first("FILE"),
        plan.name
    );
    if let Some(l) = &leases {
        eprintln!(
            "Leases: FlowSchema {l} keeps the leader election of {client} (get, create and update of leases) out of \
             the throttle, in the built-in leader-election level; --throttle-leases holds them too."
        );
    }
    if args.kubernetes_version.is_none() {
        eprintln!(
            "Written as {} for Kubernetes {} and later; for an older cluster, pass --kubernetes-version.",
            api.api_version(),
            KubernetesVersion::DEFAULT
        );
    }
    Ok(code)
}

/// Why every workload depends on `subject`: an identity of the control plane (the names
/// Kubernetes gives its components), a node's kubelet, or a group every client or every
/// service account is in. `None` for any other.
fn everyone_depends_on(subject: &ApfSubject) -> Option<String> {
    const GROUPS: [&str; 5] = [
        "system:authenticated",
        "system:unauthenticated",
        "system:serviceaccounts",
        "system:masters",
        "system:nodes",
    ];
    match subject {
        // kube-proxy too: every node's service routing.
        ApfSubject::User(u)
            if remedy::CONTROL_PLANE_USERS.contains(&u.as_str()) || u == "system:kube-proxy" =>
        {
            Some(format!("{u} is part of the control plane"))
        }
        ApfSubject::User(u) if u.starts_with("system:node:") => Some(format!("{u} is a node's kubelet")),
        // A FlowSchema's `*` matches every user (every group): the whole cluster, not a client.
        ApfSubject::User(u) if u == "*" => Some("user * is every user".to_owned()),
        ApfSubject::Group(g) if g == "*" => Some("group * is every group".to_owned()),
        ApfSubject::Group(g)
            if GROUPS.contains(&g.as_str()) || g.starts_with("system:serviceaccounts:kube-system") =>
        {
            Some(format!("group {g} holds clients every workload relies on"))
        }
        ApfSubject::ServiceAccount { namespace, name }
            if namespace == "kube-system" && name.ends_with("-controller") =>
        {
            Some(format!("kube-system/{name} is a kube-controller-manager controller"))
        }
        // Every service account of kube-system, not only the controllers named `-controller`:
        // kube-proxy, the garbage collector, the autoscalers, CoreDNS and the CNI run there, and
        // `kube-system/*` is all of them (ops review s38, item 1: they were throttled at
        // precedence 90, ahead of the built-in leader-election and kube-system schemas).
        ApfSubject::ServiceAccount { namespace, name } if namespace == "kube-system" => Some(format!(
            "kube-system/{name} runs in kube-system, where the cluster's own components run (kube-proxy, the \
             controllers, CoreDNS, the network plugin)"
        )),
        ApfSubject::ServiceAccount { namespace, .. } if namespace == "*" => {
            Some("service accounts of every namespace are every workload".to_owned())
        }
        _ => None,
    }
}

/// What the API server's validation of a FlowSchema's ServiceAccount subject accepts, for a
/// subject given to `flag` as `given`.
fn check_service_account(flag: &str, given: &str, subject: &ApfSubject) -> anyhow::Result<()> {
    if let ApfSubject::ServiceAccount { namespace, name } = subject {
        if !super::is_dns_label(namespace) {
            anyhow::bail!(
                "{flag} {given:?}: {namespace:?} is not a namespace name (lower case letters, digits and '-', \
                 beginning and ending with a letter or digit, at most 63 characters)"
            );
        }
        if name != "*" && !remedy::is_dns_subdomain(name) {
            anyhow::bail!(
                "{flag} {given:?}: {name:?} is not a service account name (lower case letters, digits, '-' and \
                 '.', each part between dots beginning and ending with a letter or digit, at most 253 \
                 characters), nor * for every service account of the namespace"
            );
        }
    }
    Ok(())
}

/// A user name typed on the command line: `system:serviceaccount:NS:NAME` is taken for the
/// service account the user meant even when NS or NAME is not a name Kubernetes accepts, so that
/// [`check_service_account`] says what is wrong with it (a log's user names go through the
/// stricter [`ApfSubject::from_username`]).
fn typed_username(username: &str) -> ApfSubject {
    match ApfSubject::service_account_parts(username) {
        Some((namespace, name)) => {
            ApfSubject::ServiceAccount { namespace: namespace.to_owned(), name: name.to_owned() }
        }
        None => ApfSubject::User(username.to_owned()),
    }
}

/// The identities named, in the order the options list them; at least one.
fn subjects(args: &Args) -> anyhow::Result<Vec<ApfSubject>> {
    let mut out = Vec::new();
    // A name with spaces around it matches nobody, and `' system:kube-scheduler'` slipped past
    // the refusal of control-plane identities (review s42).
    for (option, name) in args
        .service_accounts
        .iter()
        .map(|n| ("--service-account", n))
        .chain(args.users.iter().map(|n| ("--user", n)))
        .chain(args.groups.iter().map(|n| ("--group", n)))
    {
        if !name.is_empty() && name.trim() != name {
            anyhow::bail!(
                "{option} {name:?}: spaces before or after the name; the API server's names have none (did you mean {:?}?)",
                name.trim()
            );
        }
    }
    for sa in &args.service_accounts {
        let subject = match sa.split_once('/') {
            Some((namespace, name)) if !namespace.is_empty() && !name.is_empty() && !name.contains('/') => {
                ApfSubject::ServiceAccount { namespace: namespace.to_owned(), name: name.to_owned() }
            }
            // The user name the API server gives it, as the audit log shows it.
            _ => match typed_username(sa) {
                s @ ApfSubject::ServiceAccount { .. } => s,
                _ => anyhow::bail!(
                    "--service-account {sa:?}: expected NAMESPACE/NAME (or system:serviceaccount:NAMESPACE:NAME)"
                ),
            },
        };
        check_service_account("--service-account", sa, &subject)?;
        out.push(subject);
    }
    for user in &args.users {
        if user.is_empty() {
            anyhow::bail!("--user: empty name");
        }
        // `system:serviceaccount:NS:NAME` is a service account: checked as --service-account is.
        let subject = typed_username(user);
        check_service_account("--user", user, &subject)?;
        out.push(subject);
    }
    for group in &args.groups {
        if group.is_empty() {
            anyhow::bail!("--group: empty name");
        }
        out.push(ApfSubject::Group(group.clone()));
    }
    if out.is_empty() {
        anyhow::bail!("say whom to throttle: --service-account NS/NAME, --user NAME or --group NAME");
    }
    let mut seen = BTreeSet::new();
    out.retain(|s| seen.insert(s.clone()));
    Ok(out)
}

/// The verbs a FlowSchema's resource rules may name: those the API server gives resource
/// requests (Kubernetes' FlowSchema validation accepts these and `*` alone).
const REQUEST_VERBS: [&str; 9] =
    ["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection", "proxy"];

/// One resource rule per API group: a rule matches every group it lists with every resource it
/// lists, so `pods` and `jobs.batch` in one rule would also match `jobs` of the core group.
fn rules(args: &Args) -> anyhow::Result<Vec<ResourceRule>> {
    let mut verbs = names("--verbs", &args.verbs)?;
    // A verb the API server never gives a request is valid in a FlowSchema, but a throttle
    // holding it never matches: a typo at 3 a.m. would look applied and do nothing.
    if let Some(verb) = verbs.iter().find(|v| !REQUEST_VERBS.contains(&v.as_str()) && *v != "*") {
        let hint = findings::spelling::nearest(verb, REQUEST_VERBS, 2)
            .map(|v| format!("; did you mean `{v}`?"))
            .unwrap_or_default();
        anyhow::bail!(
            "--verbs {verb:?}: not a verb of resource requests ({}, or * for all): the API server refuses a \
             FlowSchema with it{hint}",
            REQUEST_VERBS.join(", ")
        );
    }
    // `*` covers every verb, and the API server refuses it beside others (review s42).
    if verbs.contains("*") {
        verbs = BTreeSet::from(["*".to_owned()]);
    }
    let namespaces = names("--namespaces", &args.namespaces)?;
    if let Some(bad) = namespaces.iter().find(|n| *n != "*" && !super::is_dns_label(n)) {
        anyhow::bail!(
            "--namespaces {bad:?}: not a namespace name (lower case letters, digits and '-', beginning and ending with \
             a letter or digit, at most 63 characters)"
        );
    }
    let every_namespace = namespaces.contains("*");
    let mut by_group: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for r in names("--resources", &args.resources)? {
        let (group, resource) = resource_and_group(&r)?;
        // A cluster-scoped object has no namespace: a rule limited to namespaces never matches
        // a request for it (review of the remedies, item 4a: `--resources nodes --namespaces
        // default` was written, with `clusterScope: false`, and matched nothing). Refused, not
        // widened: throttling it cluster-wide is more than the namespaces asked for.
        let base = resource.split('/').next().unwrap_or(&resource);
        if !every_namespace && !args.cluster_scope && remedy::is_cluster_scoped(base, &group) {
            anyhow::bail!(
                "--resources {r:?}: {base} is cluster-scoped (no namespace holds it), so a rule limited to \
                 --namespaces {} never matches its requests; add --cluster-scope to throttle its requests (and every \
                 request that names no namespace), or leave it out",
                namespaces.iter().cloned().collect::<Vec<_>>().join(",")
            );
        }
        by_group.entry(group).or_default().insert(resource);
    }
    // `*` among the resources covers every group: the other entries add nothing.
    if by_group.get("*").is_some_and(|r| r.contains("*")) {
        by_group.retain(|g, _| g == "*");
    }
    Ok(by_group
        .into_iter()
        .map(|(group, resources)| ResourceRule {
            verbs: verbs.clone(),
            api_groups: BTreeSet::from([group]),
            resources,
            cluster_scope: every_namespace || args.cluster_scope,
            namespaces: if every_namespace { BTreeSet::from(["*".to_owned()]) } else { namespaces.clone() },
        })
        .collect())
}

/// The items of a comma-separated option, trimmed; an empty item is an error.
fn names(option: &str, items: &[String]) -> anyhow::Result<BTreeSet<String>> {
    let mut out = BTreeSet::new();
    for item in items {
        let item = item.trim();
        if item.is_empty() {
            anyhow::bail!("{option}: an empty item (two commas, or one at an end)");
        }
        out.insert(item.to_owned());
    }
    Ok(out)
}

/// `RESOURCE[.GROUP][/SUBRESOURCE]` as (group, `resource[/subresource]`): `jobs.batch` is
/// (`batch`, `jobs`), `pods/log` (``, `pods/log`), `*` (`*`, `*`).
fn resource_and_group(text: &str) -> anyhow::Result<(String, String)> {
    if text == "*" {
        return Ok(("*".to_owned(), "*".to_owned()));
    }
    let (main, sub) = match text.split_once('/') {
        Some((m, s)) if !s.is_empty() && !s.contains('/') => (m, Some(s)),
        Some(_) => anyhow::bail!("--resources {text:?}: expected RESOURCE[.GROUP][/SUBRESOURCE]"),
        None => (text, None),
    };
    let (resource, group) = main.split_once('.').unwrap_or((main, ""));
    // `jobs` without its group, `pods.core`: a rule that matches nothing (ops review s38, item 5).
    if let Some(why) = remedy::resource_mistake(resource, group) {
        anyhow::bail!("--resources {text:?}: {why}");
    }
    let valid = super::is_dns_label;
    let parts = std::iter::once(resource).chain(group.split('.')).chain(sub);
    if let Some(why) = super::too_long_label(parts) {
        anyhow::bail!("--resources {text:?}: {why}");
    }
    if !valid(resource) || !(group.is_empty() || group.split('.').all(valid)) || !sub.is_none_or(valid) {
        anyhow::bail!(
            "--resources {text:?}: expected RESOURCE[.GROUP][/SUBRESOURCE] in lower case (`pods`, `jobs.batch`, \
             `pods/log`), as `kubectl api-resources` names them"
        );
    }
    let resource = match sub {
        Some(s) => format!("{resource}/{s}"),
        None => resource.to_owned(),
    };
    Ok((group.to_owned(), resource))
}

/// `--name` as an object name: a DNS subdomain (lower case letters, digits, `-` and `.`, at
/// most 253 characters, beginning and ending with a letter or digit) that is not the name of a
/// FlowSchema or PriorityLevelConfiguration the cluster makes itself ([`remedy::built_in_apf_object`]):
/// applied, the throttle would replace that object, and "To undo" would delete it (review of the
/// remedies, item 1: `--name workload-low` gave every service account 5 shares).
fn object_name(name: &str) -> anyhow::Result<String> {
    // Each part between dots too (review s42: `a..b` was written).
    if !remedy::is_dns_subdomain(name) {
        anyhow::bail!(
            "--name {name:?}: not a Kubernetes object name (lower case letters, digits, '-' and '.', beginning and \
             ending with a letter or digit, each part between dots too, at most 253 characters)"
        );
    }
    if let Some(what) = remedy::built_in_apf_object(name) {
        anyhow::bail!(
            "--name {name:?}: is the name of {what}, which the cluster keeps for itself: applying the throttle would \
             replace it (and the requests it classifies), and its \"To undo\" would delete it. Leave --name out for \
             the default name (throttle-sa-NS.NAME, throttle-user-NAME, throttle-group-NAME), or give one that \
             begins with throttle-"
        );
    }
    Ok(name.to_owned())
}

/// An error when the cluster's objects (`--manifests`) hold a FlowSchema or
/// PriorityLevelConfiguration named `name` (or a FlowSchema named `leases`, the throttle's lease
/// schema) that apiserver-doctor did not write (no `app.kubernetes.io/managed-by:
/// apiserver-doctor` label): applying the throttle would replace the cluster's own object, and
/// its "To undo" would delete it. An earlier throttle of that name, with the label, may be
/// replaced. `named` says whether the name came from --name, for the advice.
fn check_not_the_clusters_own(
    cluster: &manifests::Manifests,
    name: &str,
    leases: Option<&str>,
    named: bool,
) -> anyhow::Result<()> {
    let schema = cluster
        .flow_schemas
        .iter()
        .find(|fs| (fs.name == name || Some(fs.name.as_str()) == leases) && !fs.by_apiserver_doctor)
        .map(|fs| ("FlowSchema", fs.name.as_str(), fs.file.as_str(), fs.line));
    let level = cluster
        .priority_levels
        .iter()
        .find(|pl| pl.name == name && !pl.by_apiserver_doctor)
        .map(|pl| ("PriorityLevelConfiguration", pl.name.as_str(), pl.file.as_str(), pl.line));
    let Some((kind, found, file, line)) = schema.or(level) else { return Ok(()) };
    let fix = if named {
        "give --name another name, or leave it out for the default"
    } else {
        "give --name another name (beginning with throttle-)"
    };
    anyhow::bail!(
        "the cluster already has a {kind} named {found:?} ({file}:{line}) that apiserver-doctor did not write (it \
         has no label app.kubernetes.io/managed-by: apiserver-doctor): applying the throttle would replace it, and \
         its \"To undo\" would delete it; {fix}"
    )
}

/// An error (unless `force`) when a built-in FlowSchema every cluster has takes in every request
/// of each of `plan`'s identities before the throttle, at the precedence chosen: the throttle
/// would never apply (review of the remedies, item 4b: `--precedence 9950` for a user, after
/// `global-default` at 9900, exited 0 with nothing said). When only some identities are taken,
/// a warning names them. Used when --manifests gives no FlowSchema of the cluster's to judge by.
fn check_precedence_against_built_ins(plan: &ThrottlePlan, force: bool) -> anyhow::Result<()> {
    let caught: Vec<(String, &str, u32)> = plan
        .subjects
        .iter()
        .filter_map(|s| {
            remedy::built_in_schema_first(s, plan.matching_precedence, &plan.name)
                .map(|(n, p)| (s.describe(), n, p))
        })
        .collect();
    let Some((_, _, lowest)) = caught.iter().min_by_key(|(_, _, p)| *p) else { return Ok(()) };
    let said: Vec<String> = caught
        .iter()
        .map(|(who, fs, p)| {
            format!("the built-in FlowSchema {fs} (matchingPrecedence {p}) takes in every request of {who}")
        })
        .collect();
    let below = if *lowest > 2 {
        format!(
            "give --precedence below {lowest} (the default 90 comes before every built-in FlowSchema but exempt and probes)"
        )
    } else {
        "give a lower --precedence".to_owned()
    };
    let text = format!(
        "--precedence {}: {} before the throttle, which would never apply to {}; {below}",
        plan.matching_precedence,
        said.join(", and "),
        if caught.len() == 1 { "it" } else { "them" }
    );
    if caught.len() == plan.subjects.len() && !force {
        anyhow::bail!(
            "{text}. --force writes it anyway (for a cluster whose built-in FlowSchemas were changed)"
        );
    }
    eprintln!("warning: {text}");
    Ok(())
}
