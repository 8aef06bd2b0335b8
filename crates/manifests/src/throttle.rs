//! The throttles other checks propose (a FlowSchema and PriorityLevelConfiguration for an
//! offending client), checked against the cluster's own FlowSchemas: which schema classifies
//! the client's requests today, and whether one the API server consults first would still
//! catch them, so that the throttle would never apply.

use std::collections::BTreeMap;

use findings::{Finding, Remedy, RemedyKind, Safety, Severity};

use crate::Manifests;
use crate::apf::{BOOTSTRAP_PRIORITY_LEVELS, FlowSchema, Limits, Request, level_exists};
use crate::checks::whk001_webhook_deadlock::{join_and, join_or};
use crate::load::parse_text;

/// One part of the requests a throttle's FlowSchema stands for: one subject's identity, one of
/// its resource rules, and one side of that rule's scope (requests in a namespace, or requests
/// that name none). A schema consulted first may catch some parts and not others.
#[derive(Debug, Clone)]
struct Part {
    user: String,
    groups: Vec<String>,
    /// Whether `groups` are all of the identity's groups: a service account's, or a user's seen
    /// in the audit log. Else they are `system:authenticated` only, and the user may be in
    /// others ([`Request::groups_known`]).
    groups_known: bool,
    /// The subject as the throttle names it (`service account obs/exporter`).
    subject: String,
    /// The index of the resource rule, over the throttle's rules.
    rule: usize,
    verbs: Vec<String>,
    api_groups: Vec<String>,
    resources: Vec<String>,
    /// The namespaces of the rule for the namespaced side; empty for the cluster-wide side.
    namespaces: Vec<String>,
    /// Whether this is the side of requests that name no namespace.
    cluster: bool,
    /// Whether the rule has the other side too.
    both_sides: bool,
}

/// The parts of the requests `throttle` stands for; a user has the groups `seen` for it.
/// Subjects that stand for many identities (`*`, a group) have no identity to judge and are
/// left out, as before.
fn parts_of(throttle: &FlowSchema, seen: &BTreeMap<String, Vec<String>>) -> (Vec<Part>, Vec<String>) {
    let mut out = Vec::new();
    let mut unjudged: Vec<String> = Vec::new();
    let mut index = 0;
    for rule in &throttle.rules {
        for rr in &rule.resource_rules {
            for subject in &rule.subjects {
                let Some((user, groups)) = Request::identity(subject, seen) else {
                    if !unjudged.contains(&subject.describe()) {
                        unjudged.push(subject.describe());
                    }
                    continue;
                };
                let groups_known = Request::groups_known(subject, seen);
                let both_sides = rr.cluster_scope && !rr.namespaces.is_empty();
                let mut sides = Vec::new();
                if !rr.namespaces.is_empty() {
                    sides.push((rr.namespaces.clone(), false));
                }
                if rr.cluster_scope {
                    sides.push((Vec::new(), true));
                }
                for (namespaces, cluster) in sides {
                    out.push(Part {
                        user: user.clone(),
                        groups: groups.clone(),
                        groups_known,
                        subject: subject.describe(),
                        rule: index,
                        verbs: rr.verbs.clone(),
                        api_groups: rr.api_groups.clone(),
                        resources: rr.resources.clone(),
                        namespaces,
                        cluster,
                        both_sides,
                    });
                }
            }
            index += 1;
        }
    }
    (out, unjudged)
}

/// `part` split into units of one verb, API group, resource and namespace each, where it lists
/// them (a `*` stays whole): schemas that each catch some of the listed values (one `list`,
/// another `watch`) catch every unit between them.
fn units(part: &Part) -> Vec<Part> {
    let split = |values: &[String]| -> Vec<Vec<String>> {
        if values.iter().any(|v| v == "*") || values.is_empty() {
            vec![values.to_vec()]
        } else {
            values.iter().map(|v| vec![v.clone()]).collect()
        }
    };
    let mut out = Vec::new();
    for verbs in split(&part.verbs) {
        for api_groups in split(&part.api_groups) {
            for resources in split(&part.resources) {
                for namespaces in split(&part.namespaces) {
                    out.push(Part {
                        verbs: verbs.clone(),
                        api_groups: api_groups.clone(),
                        resources: resources.clone(),
                        namespaces,
                        ..part.clone()
                    });
                }
            }
        }
    }
    out
}

/// `resource `jobs.batch``, `resources `pods`, `pods/log``: the resources, with their API group
/// when it is one group other than the core group or `*`.
fn resources_shown(resources: &[String], groups: &[String]) -> String {
    let group = match groups {
        [g] if !g.is_empty() && g != "*" => format!(".{g}"),
        _ => String::new(),
    };
    let names: Vec<String> = resources
        .iter()
        .map(|r| match r.split_once('/') {
            _ if r == "*" => "`*`".to_owned(),
            Some((resource, sub)) => format!("`{resource}{group}/{sub}`"),
            None => format!("`{r}{group}`"),
        })
        .collect();
    format!("{} {}", plural("resource", resources.len()), names.join(", "))
}

/// Whether `fs` catches every request of `part`: each of its units whole.
fn catches_whole(fs: &FlowSchema, part: &Part) -> bool {
    units(part).iter().all(|u| catches_unit(fs, u))
}

/// Whether `fs` catches every request of `unit` (one of its rules takes it in whole).
fn catches_unit(fs: &FlowSchema, unit: &Part) -> bool {
    catch(fs, unit).is_some_and(|found| found.iter().any(Vec::is_empty))
}

/// The values of `ours` that `theirs` also takes in: all of ours when theirs holds `*`, theirs
/// when ours holds `*`, else the values both hold.
fn common(ours: &[String], theirs: &[String]) -> Vec<String> {
    if theirs.iter().any(|t| t == "*") {
        ours.to_vec()
    } else if ours.iter().any(|o| o == "*") {
        theirs.to_vec()
    } else {
        ours.iter().filter(|o| theirs.contains(o)).cloned().collect()
    }
}

/// What `fs` catches of `part`: `None` when nothing, else what each of its resource rules that
/// catches some of it narrows it to (`verb `get``), one list per rule; a rule that catches all
/// of it makes that the one answer, an empty list.
fn catch(fs: &FlowSchema, part: &Part) -> Option<Vec<Vec<String>>> {
    let shown = |values: &[String]| -> String {
        values
            .iter()
            .map(|v| if v.is_empty() { "`\"\"` (the core group)".to_owned() } else { format!("`{v}`") })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut found: Vec<Vec<String>> = Vec::new();
    for rule in &fs.rules {
        if !rule.subjects.iter().any(|s| s.matches(&part.user, &part.groups)) {
            continue;
        }
        for rr in &rule.resource_rules {
            let verbs = common(&part.verbs, &rr.verbs);
            let groups = common(&part.api_groups, &rr.api_groups);
            let resources = common(&part.resources, &rr.resources);
            let namespaces = common(&part.namespaces, &rr.namespaces);
            let scope_ok = if part.cluster { rr.cluster_scope } else { !namespaces.is_empty() };
            if verbs.is_empty() || groups.is_empty() || resources.is_empty() || !scope_ok {
                continue;
            }
            let mut narrower = Vec::new();
            if verbs != part.verbs {
                narrower.push(format!("{} {}", plural("verb", verbs.len()), shown(&verbs)));
            }
            if groups != part.api_groups {
                narrower.push(format!("{} {}", plural("API group", groups.len()), shown(&groups)));
            }
            if resources != part.resources {
                narrower.push(resources_shown(&resources, &groups));
            }
            if !part.cluster && namespaces != part.namespaces {
                narrower.push(format!("in {} {}", plural("namespace", namespaces.len()), shown(&namespaces)));
            }
            if narrower.is_empty() {
                return Some(vec![narrower]);
            }
            if !found.contains(&narrower) {
                found.push(narrower);
            }
        }
    }
    (!found.is_empty()).then_some(found)
}

/// What `fs` catches of all of `parts`: `None` when nothing, `Some(None)` when every part
/// whole, else `Some(Some(description))` (`requests with verbs `get``; `namespaced
/// requests`).
fn catches(fs: &FlowSchema, parts: &[Part]) -> Option<Option<String>> {
    let caught: Vec<(&Part, Vec<String>)> = parts
        .iter()
        .filter_map(|p| Some((p, catch(fs, p)?)))
        .flat_map(|(p, found)| found.into_iter().map(move |n| (p, n)))
        .collect();
    if caught.is_empty() {
        return None;
    }
    if parts.iter().all(|p| catches_whole(fs, p)) {
        return Some(None);
    }
    let rules: std::collections::BTreeSet<usize> = parts.iter().map(|p| p.rule).collect();
    let subjects: std::collections::BTreeSet<&str> = parts.iter().map(|p| p.subject.as_str()).collect();
    let mut phrases: Vec<String> = Vec::new();
    // A rule of the throttle caught whole, among others not: named by its resources.
    let caught: Vec<(&Part, Vec<String>)> = caught
        .into_iter()
        .map(|(p, mut narrower)| {
            if rules.len() > 1 && !narrower.iter().any(|n| n.starts_with("resource")) {
                narrower.push(resources_shown(&p.resources, &p.api_groups));
            }
            (p, narrower)
        })
        .collect();
    for (p, narrower) in &caught {
        // Both sides of the rule caught alike read as one, with no side named.
        let other_side_alike = p.both_sides
            && caught.iter().any(|(q, n)| {
                q.rule == p.rule && q.subject == p.subject && q.cluster != p.cluster && n == narrower
            });
        let side = if other_side_alike || !p.both_sides {
            "requests"
        } else if p.cluster {
            "cluster-wide requests"
        } else if narrower.iter().any(|n| n.starts_with("in ")) {
            "requests"
        } else {
            "namespaced requests"
        };
        let mut phrase = side.to_owned();
        let with: Vec<String> = narrower.iter().filter(|n| !n.starts_with("in ")).cloned().collect();
        if !with.is_empty() {
            phrase.push_str(" with ");
            phrase.push_str(&join_and(&with));
        }
        if let Some(ns) = narrower.iter().find(|n| n.starts_with("in ")) {
            phrase.push(' ');
            phrase.push_str(ns);
        }
        if subjects.len() > 1 {
            phrase.push_str(&format!(" of {}", p.subject));
        }
        if !phrases.contains(&phrase) {
            phrases.push(phrase);
        }
    }
    Some(Some(phrases.join("; ")))
}

/// `word` for one, `words` for more.
fn plural(word: &str, n: usize) -> String {
    if n == 1 { word.to_owned() } else { format!("{word}s") }
}

/// A schema the API server consults before the throttle that catches some of its requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preemption {
    /// Its name.
    pub name: String,
    /// Its matchingPrecedence.
    pub precedence: u32,
    /// Its priority level.
    pub level: String,
    /// `None` when it catches every request of the throttle; else which ones
    /// (`requests with verbs `get``).
    pub part: Option<String>,
}

/// A schema the API server consults before the throttle that takes in requests by group, and
/// that would catch some of the throttle's requests if a user whose groups are not known here
/// were in one of those groups: whether the throttle applies to them is not known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Undecided {
    /// Its name.
    pub name: String,
    /// Its matchingPrecedence.
    pub precedence: u32,
    /// Its priority level.
    pub level: String,
    /// The groups it takes in (`system:masters`).
    pub groups: Vec<String>,
    /// `None` when it would catch every request of those users; else which ones.
    pub part: Option<String>,
}

/// What the cluster's FlowSchemas say of one proposed throttle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The throttle's FlowSchema name and precedence.
    pub throttle: (String, u32),
    /// The first schema, in the API server's order, that classifies some of the throttle's
    /// requests today, with its priority level.
    pub today: Option<(String, u32, String)>,
    /// `None` when [`Verdict::today`] classifies every request of the throttle; else which of
    /// them (`requests with verbs `get``): the rest go to the schemas after it.
    pub today_part: Option<String>,
    /// Schemas consulted before the throttle that catch some of its requests, in the API
    /// server's order.
    pub preempted_by: Vec<Preemption>,
    /// Whether those schemas catch every request of the throttle between them, so that it
    /// would never apply.
    pub all_preempted: bool,
    /// The throttle's subjects that stand for identities not known here (a group, every
    /// service account of a namespace), whose requests were not judged
    /// (`group system:serviceaccounts:obs`).
    pub unjudged: Vec<String>,
    /// Whether any of its requests were judged (some subject names one identity).
    pub judged: bool,
    /// The throttle's users whose groups are not known here (no `# Groups seen` line for them in
    /// its YAML: `throttle --user` never knows them, `diagnose` only from an audit log that
    /// records `user.groups`). They were judged as in `system:authenticated` only.
    pub groups_unknown: Vec<String>,
    /// Schemas consulted before the throttle, not among [`Verdict::preempted_by`], that take in
    /// a group one of [`Verdict::groups_unknown`] may be in, and would then catch some of the
    /// throttle's requests, in the API server's order.
    pub undecided: Vec<Undecided>,
    /// A FlowSchema of the throttle's name exists already: its precedence and priority level.
    pub already_applied: Option<(u32, String)>,
    /// The priority level the requests go to today when it is not one the API server creates
    /// (a level someone made, as for a throttle), with its limits when the manifests hold it.
    pub current_level: Option<(String, Option<Limits>)>,
    /// The other FlowSchemas of the manifests that send requests to [`Verdict::current_level`]
    /// (all but the one classifying the client today): a cap on that level holds their
    /// clients too.
    pub level_shared_with: Vec<String>,
    /// The proposed priority level's name and limits.
    pub proposed_level: Option<(String, Limits)>,
    /// Requests already rejected with 429, and all requests, as the throttle's YAML says.
    pub rejected: Option<(u64, u64)>,
}

impl Verdict {
    /// The requests go today to a level of the cluster's own that holds them as tightly as
    /// the proposed one or more: the most seats it can reach (nominal shares plus what it may
    /// borrow) are no more than the proposed level's, and its queues hold no more
    /// ([`Limits::holds_as_tightly_as`]). The throttle would loosen it. A level that may
    /// borrow without limit never qualifies: it is no throttle.
    pub fn already_throttled(&self) -> bool {
        match (&self.current_level, &self.proposed_level) {
            (Some((_, Some(have))), Some((_, want))) => have.holds_as_tightly_as(want),
            _ => false,
        }
    }

    /// The requests go today to a level of the cluster's own, of at least one share, that sets
    /// no borrowingLimitPercent but that, capped (borrowingLimitPercent 0), would hold them as
    /// tightly as the proposed level or more. Its borrowing is what makes it no throttle, and only borrowing: under
    /// load, when other levels lend nothing, it already holds the client to fewer seats or
    /// queue places than the proposed level would. Capping it is tighter than adding the level,
    /// but only when no other FlowSchema sends to it ([`Verdict::level_shared_with`]): a cap
    /// holds every client of the level, and the throttle then stays, the cap a second option.
    pub fn capping_is_tighter(&self) -> bool {
        if !self.level_shared_with.is_empty() {
            return false;
        }
        match (&self.current_level, &self.proposed_level) {
            // A level of 0 shares runs on borrowed seats only: capped, it needs seats of its
            // own (the patch gives the proposed level's), which makes it another level, not a
            // tighter one; the throttle stays for it.
            (Some((_, Some(have))), Some((_, want)))
                if have.borrowing_limit_percent.is_none() && have.shares > 0 =>
            {
                Limits { borrowing_limit_percent: Some(0), ..*have }.holds_as_tightly_as(want)
            }
            _ => false,
        }
    }
}

/// Whether the throttle's YAML is written for an API server older than Kubernetes 1.26, one
/// that lends no seats between levels: its PriorityLevelConfiguration is flowcontrol v1beta1
/// or v1beta2, which the throttle remedy writes only for `--kubernetes-version` (or the
/// configuration's `kubernetes_version`, or the version the audit log shows) 1.25 and older
/// (`remedy::KubernetesVersion::flow_control_api`). `false` when it says nothing (no level),
/// so that a version not known is taken as one that borrows.
fn written_before_borrowing(proposed: &Manifests) -> bool {
    proposed
        .priority_levels
        .iter()
        .any(|l| l.api_version.ends_with("/v1beta1") || l.api_version.ends_with("/v1beta2"))
}

/// Judges the throttle whose YAML (a FlowSchema, with or without its priority level) is
/// `yaml`, against `m`'s FlowSchemas and priority levels. `None` when the YAML holds no
/// FlowSchema.
pub fn judge(yaml: &str, m: &Manifests) -> Option<Verdict> {
    let mut proposed = Manifests::default();
    parse_text("remedy", yaml, &mut proposed);
    let throttle = proposed.flow_schemas.first()?;
    let (parts, unjudged) = parts_of(throttle, &remedy::groups_seen(yaml));
    // The API server's order; a FlowSchema whose priority level does not exist is ignored by
    // it: it catches nothing, before the throttle or after (the rule of `classify`).
    let mut ordered: Vec<&FlowSchema> =
        m.flow_schemas.iter().filter(|fs| level_exists(fs, &m.priority_levels)).collect();
    ordered.sort_by(|a, b| (a.matching_precedence, &a.name).cmp(&(b.matching_precedence, &b.name)));
    // Today, a FlowSchema of the throttle's own name (the user's, or one applied before) counts
    // like any other; after applying, the throttle replaces it.
    // With identities not judged, "all of them" is all of the judged identities' requests.
    let checked = || {
        let mut who: Vec<&str> = parts.iter().map(|p| p.subject.as_str()).collect();
        who.dedup();
        format!("every request of {}", who.join(", "))
    };
    let of_checked =
        |part: Option<String>| if unjudged.is_empty() { part } else { part.or_else(|| Some(checked())) };
    let (today, today_part) = ordered
        .iter()
        .find_map(|fs| Some((fs, catches(fs, &parts)?)))
        .map(|(fs, part)| {
            (Some((fs.name.clone(), fs.matching_precedence, fs.priority_level.clone())), of_checked(part))
        })
        .unwrap_or((None, None));
    let mut preempted_by = Vec::new();
    let all_units: Vec<Part> = parts.iter().flat_map(units).collect();
    let mut whole = vec![false; all_units.len()];
    for fs in ordered.iter().filter(|fs| fs.name != throttle.name && fs.comes_before(throttle)) {
        let Some(part) = catches(fs, &parts) else { continue };
        for (u, done) in all_units.iter().zip(whole.iter_mut()) {
            *done |= catches_unit(fs, u);
        }
        preempted_by.push(Preemption {
            name: fs.name.clone(),
            precedence: fs.matching_precedence,
            level: fs.priority_level.clone(),
            part: of_checked(part),
        });
    }
    // Users whose groups are not known may be in a group that a schema consulted first takes
    // in: `system:masters` and the mandatory `exempt` schema (precedence 1), which no throttle
    // can come before. Each such schema is judged as if they were in its groups.
    let mut groups_unknown: Vec<String> = Vec::new();
    for p in parts.iter().filter(|p| !p.groups_known) {
        if !groups_unknown.contains(&p.user) {
            groups_unknown.push(p.user.clone());
        }
    }
    let mut undecided = Vec::new();
    if !groups_unknown.is_empty() {
        for fs in ordered.iter().filter(|fs| fs.name != throttle.name && fs.comes_before(throttle)) {
            if preempted_by.iter().any(|p: &Preemption| p.name == fs.name) {
                continue;
            }
            // An authenticated user is never in system:unauthenticated.
            let mut groups: Vec<String> = Vec::new();
            for s in fs.rules.iter().flat_map(|r| &r.subjects) {
                if let crate::apf::FlowSubject::Group(g) = s
                    && g != "system:unauthenticated"
                    && g != "system:authenticated"
                    && g != "*"
                    && !groups.contains(g)
                {
                    groups.push(g.clone());
                }
            }
            if groups.is_empty() {
                continue;
            }
            let maybe: Vec<Part> = parts
                .iter()
                .filter(|p| !p.groups_known)
                .map(|p| {
                    let mut q = p.clone();
                    q.groups.extend(groups.iter().cloned());
                    q
                })
                .collect();
            let Some(part) = catches(fs, &maybe) else { continue };
            let part = if maybe.len() == parts.len() {
                of_checked(part)
            } else {
                part.or_else(|| {
                    let who: Vec<String> = groups_unknown.iter().map(|u| format!("user {u}")).collect();
                    Some(format!("every request of {}", join_and(&who)))
                })
            };
            undecided.push(Undecided {
                name: fs.name.clone(),
                precedence: fs.matching_precedence,
                level: fs.priority_level.clone(),
                groups,
                part,
            });
        }
    }
    // Identities not judged (a group, `NS/*`) may reach the throttle: never "all".
    let all_preempted = !preempted_by.is_empty() && whole.iter().all(|w| *w) && unjudged.is_empty();
    // On a server before 1.26 no level borrows, whatever its object says.
    let era = |l: Limits| if written_before_borrowing(&proposed) { l.before_borrowing() } else { l };
    // The level holds the client only when its schema takes in all of the throttle's requests.
    let current_level = today
        .as_ref()
        .filter(|_| today_part.is_none())
        .filter(|(_, _, pl)| !BOOTSTRAP_PRIORITY_LEVELS.contains(&pl.as_str()))
        .map(|(_, _, pl)| {
            let limits = m.priority_levels.iter().find(|l| &l.name == pl).and_then(|l| l.limits).map(era);
            (pl.clone(), limits)
        });
    let mut level_shared_with: Vec<String> = Vec::new();
    if let (Some((level, _)), Some((today_fs, _, _))) = (&current_level, &today) {
        for fs in m.flow_schemas.iter().filter(|fs| &fs.priority_level == level && &fs.name != today_fs) {
            if !level_shared_with.contains(&fs.name) {
                level_shared_with.push(fs.name.clone());
            }
        }
    }
    let proposed_level = proposed
        .priority_levels
        .iter()
        .find(|l| l.name == throttle.priority_level)
        .and_then(|l| Some((l.name.clone(), era(l.limits?))));
    Some(Verdict {
        throttle: (throttle.name.clone(), throttle.matching_precedence),
        today,
        today_part,
        preempted_by,
        all_preempted,
        judged: !parts.is_empty(),
        unjudged,
        groups_unknown,
        undecided,
        already_applied: m
            .flow_schemas
            .iter()
            .find(|fs| fs.name == throttle.name)
            .map(|fs| (fs.matching_precedence, fs.priority_level.clone())),
        current_level,
        level_shared_with,
        proposed_level,
        rejected: remedy::already_rejected(yaml),
    })
}

/// The command that shows the API server's rejections in priority level `level`, its name
/// quoted for the shell (inside a double-quoted label value of the pattern).
fn watch_rejections(level: &str) -> String {
    format!(
        "kubectl get --raw /metrics | grep -E {}",
        remedy::shell_quote(&format!(
            "apiserver_flowcontrol_rejected_requests_total.*priority_level={}",
            findings::text::double_quoted_literal(level)
        ))
    )
}

/// What applying the YAML does to a FlowSchema of the throttle's name that exists already.
fn replaces(v: &Verdict) -> String {
    let (name, _) = &v.throttle;
    let Some((p, level)) = &v.already_applied else { return String::new() };
    let proposed = v.proposed_level.as_ref().map_or(name.as_str(), |(n, _)| n.as_str());
    let moved = if level == proposed {
        format!("and those of its priority level `{level}`")
    } else {
        format!(
            "and sends its requests to the new priority level `{proposed}` instead of `{level}` (which stays as it is, \
             with no FlowSchema of this name sending to it)"
        )
    };
    format!(
        "A FlowSchema named `{name}` exists already (matchingPrecedence {p}, priority level `{level}`): applying the \
         YAML replaces its rules with these {moved}; the requests it matches today that these rules do not take in \
         fall back to the FlowSchemas after it. Compare them first (`kubectl get flowschema {} -o yaml`); if it is \
         not an earlier throttle of this client, rename the proposed objects. ",
        remedy::shell_quote(name)
    )
}

/// `user alice`, `users alice and bob`.
fn users_named(users: &[String]) -> String {
    let named: Vec<String> = users.iter().map(|u| format!("`{}`", remedy::one_line(u))).collect();
    format!("{} {}", plural("user", users.len()), join_and(&named))
}

/// What the verdict says of [`Verdict::undecided`]: the schemas consulted first that would
/// catch the requests if a user whose groups are not known were in one of their groups, and how
/// to find out. Empty when there are none.
fn undecided_note(v: &Verdict) -> String {
    if v.undecided.is_empty() {
        return String::new();
    }
    let (name, precedence) = &v.throttle;
    let users = users_named(&v.groups_unknown);
    let they = if v.groups_unknown.len() == 1 { "it is" } else { "one of them is" };
    let mut out = format!(
        "Not known: the groups of {users}. The throttle's YAML names none (`throttle --user` never knows them; \
         `diagnose` knows them only from an audit log that records `user.groups`), so these requests were judged as \
         those of a user in `system:authenticated` only. "
    );
    for u in &v.undecided {
        let groups: Vec<String> = u.groups.iter().map(|g| format!("`{}`", remedy::one_line(g))).collect();
        let which = if groups.len() == 1 { "that group" } else { "one of those groups" };
        let part = u.part.as_deref().unwrap_or("all of them");
        out.push_str(&format!(
            "FlowSchema `{}` (matchingPrecedence {}, priority level `{}`) is consulted before the throttle's \
             `{name}` (matchingPrecedence {precedence}) and takes in {} {}: if {they} in {which}, it catches {part}, \
             and the throttle does not apply to them. ",
            u.name,
            u.precedence,
            u.level,
            plural("group", groups.len()),
            join_or(&groups)
        ));
    }
    if v.undecided.iter().any(|u| u.name == "exempt" && u.precedence == 1) {
        out.push_str(
            "No throttle can come before the mandatory `exempt` FlowSchema (matchingPrecedence 1): a user in \
             `system:masters` is always exempt; give the client an identity of its own outside that group. ",
        );
    }
    out.push_str(
        "Find out before applying: run `kubectl auth whoami` with the client's own credentials (its kubeconfig; \
         `--as USER` shows only the groups given with `--as-group`, not the user's real ones), or read `user.groups` \
         of its requests in the audit log, or the `X-Kubernetes-PF-FlowSchema-UID` response header of one of its \
         requests (`kubectl get pods -v=8` with its credentials) against `kubectl get flowschemas -o \
         custom-columns=NAME:.metadata.name,UID:.metadata.uid`. ",
    );
    out
}

/// The title of a verdict whose only doubt is [`Verdict::undecided`].
fn undecided_title(v: &Verdict) -> String {
    let names: Vec<String> = v.undecided.iter().map(|u| u.name.clone()).collect();
    let mut groups: Vec<String> = Vec::new();
    for g in v.undecided.iter().flat_map(|u| &u.groups) {
        let g = remedy::one_line(g);
        if !groups.contains(&g) {
            groups.push(g);
        }
    }
    let who: Vec<String> = v.groups_unknown.iter().map(|u| format!("user {}", remedy::one_line(u))).collect();
    format!(
        "Undecided: the cluster's {} {} would catch these requests before the throttle if {} is in {} {} (its groups \
         are not known here)",
        plural("FlowSchema", names.len()),
        join_and(&names),
        join_or(&who),
        plural("group", groups.len()),
        join_or(&groups)
    )
}

/// Which FlowSchema classifies the throttle's requests today, and into which priority level.
/// With `code`, names are shown as in the advice (`` `global-default` ``); without, as in a
/// YAML comment (plain, on one line). Empty when no schema does, or when it is the first
/// consulted before the throttle (the verdict says so there).
fn today(v: &Verdict, code: bool) -> String {
    let q = |s: &str| if code { format!("`{s}`") } else { remedy::one_line(s) };
    // Judged without the groups a user may be in, today's schema is the one for a user in
    // `system:authenticated` only.
    let known = if v.groups_unknown.is_empty() {
        String::new()
    } else if code {
        format!(" (for {} in no group but `system:authenticated`)", users_named(&v.groups_unknown))
    } else {
        let users: Vec<String> = v.groups_unknown.iter().map(|u| remedy::one_line(u)).collect();
        format!(
            " (for {} {} in no group but system:authenticated)",
            plural("user", users.len()),
            join_and(&users)
        )
    };
    match (&v.today, &v.today_part) {
        (Some((fs, p, pl)), None) => format!(
            "Today these requests are classified{known} by FlowSchema {} (matchingPrecedence {p}) into priority level {}. ",
            q(fs),
            q(pl)
        ),
        // A schema consulted before the throttle says it below.
        (Some((fs, _, _)), Some(_)) if v.preempted_by.first().is_some_and(|pre| &pre.name == fs) => {
            String::new()
        }
        (Some((fs, p, pl)), Some(part)) => format!(
            "Today FlowSchema {} (matchingPrecedence {p}) classifies part of these requests into priority level \
             {}: {}; the rest go to the FlowSchemas after it. ",
            q(fs),
            q(pl),
            if code { part.clone() } else { remedy::one_line(part) }
        ),
        _ => String::new(),
    }
}

/// What a throttle's title gets when the cluster's FlowSchemas were found to let it take
/// effect, with nothing to review ([`confirmation`]).
pub const TAKES_EFFECT: &str = " (checked against the cluster's FlowSchemas: it takes effect)";

/// The widest line of the comment [`confirmation`] writes.
const COMMENT_WIDTH: usize = 100;

/// When the verdict is that the throttle takes effect and nothing in it is to be reviewed (no
/// schema catches the requests first, none undecided, every subject judged, no level of the
/// cluster's own to compare, no FlowSchema of its name already): the YAML comment lines
/// (`# …`, each ending in a newline) that say so, to put before the throttle's YAML in place
/// of a remedy of their own. A verdict is a statement about the YAML, not an action: as a
/// remedy of its own it was marked *safe to apply*, with nothing to apply. `None` for every
/// other verdict: it stays a remedy, *review first*.
pub fn confirmation(v: &Verdict) -> Option<String> {
    let clean = v.judged
        && v.preempted_by.is_empty()
        && v.undecided.is_empty()
        && v.unjudged.is_empty()
        && !v.already_throttled()
        && !v.capping_is_tighter()
        && matches!(verdict_remedies(v).as_slice(), [r] if r.safety == Safety::Safe);
    if !clean {
        return None;
    }
    let (name, precedence) = &v.throttle;
    let text = format!(
        "Checked against the cluster's FlowSchemas: FlowSchema {} (matchingPrecedence {precedence}) comes before \
         every FlowSchema given that matches these requests: it takes effect. {}",
        remedy::one_line(name),
        today(v, false)
    );
    Some(comment_lines(text.trim_end(), COMMENT_WIDTH))
}

/// `text` (one line) as YAML comment lines `# …` of at most `width` columns where its words
/// allow, each ending in a newline.
fn comment_lines(text: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line = String::from("#");
    for word in text.split_whitespace() {
        if line.len() > 1 && line.chars().count() + 1 + word.chars().count() > width {
            out.push_str(&line);
            out.push('\n');
            line = String::from("#");
        }
        line.push(' ');
        line.push_str(word);
    }
    out.push_str(&line);
    out.push('\n');
    out
}

/// The remedies that say what [`judge`] found: one piece of advice, and when the client is
/// already held by a level with no limit on borrowing, the patch that sets one.
pub fn verdict_remedies(v: &Verdict) -> Vec<Remedy> {
    let (name, precedence) = &v.throttle;
    let mut body = String::new();
    if v.already_throttled()
        && let (Some((fs, p, _)), Some((level, Some(have))), Some((_, want))) =
            (&v.today, &v.current_level, &v.proposed_level)
    {
        body.push_str(&format!(
            "The client is already throttled: FlowSchema `{fs}` (matchingPrecedence {p}) sends these requests to \
             priority level `{level}` ({}). The proposed level would have {}: applying it would give this client as much room \
             or more, not less, so no new level is proposed. ",
            have.describe(),
            want.describe()
        ));
        if let Some((rejected, total)) = v.rejected {
            body.push_str(&format!(
                "The {} of its {} requests rejected with 429 Too Many Requests are that throttle working. ",
                findings::thousands(i128::from(rejected)),
                findings::thousands(i128::from(total))
            ));
        }
        let shared = if v.level_shared_with.is_empty() {
            String::new()
        } else {
            format!(
                " (it holds the clients of {} {} too)",
                plural("FlowSchema", v.level_shared_with.len()),
                join_and(&v.level_shared_with.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>())
            )
        };
        body.push_str(&format!(
            "The fix is in the client (see the advice). If it must be held tighter still, tighten `{level}` itself{shared} \
             (fewer shares or a shorter queueLengthLimit: `kubectl edit prioritylevelconfiguration {}`) rather \
             than adding a level; watch its rejections with `{}`.",
            remedy::shell_quote(level),
            watch_rejections(level)
        ));
        let note = undecided_note(v);
        if !note.is_empty() {
            body.push(' ');
            body.push_str(note.trim_end());
        }
        return vec![Remedy {
            title: format!(
                "Already throttled by FlowSchema {fs} into priority level {level}: fix the client"
            ),
            kind: RemedyKind::Advice,
            body,
            safety: if note.is_empty() { Safety::Safe } else { Safety::ReviewFirst },
        }];
    }
    if v.capping_is_tighter()
        && let (Some((fs, p, _)), Some((level, Some(have))), Some((_, want))) =
            (&v.today, &v.current_level, &v.proposed_level)
    {
        body.push_str(&format!(
            "FlowSchema `{fs}` (matchingPrecedence {p}) already sends these requests to priority level `{level}` ({}). \
             It sets no borrowingLimitPercent, so it may borrow idle seats without limit and is no throttle while \
             other levels are quiet; but under load, when they lend nothing, it holds the client to no more seats \
             and queue places than the proposed level ({}) would. Adding that level would loosen the limit when it \
             matters, so none is proposed: cap `{level}` instead (the patch below stops its borrowing), and fix the \
             client (see the advice). ",
            have.describe(),
            want.describe()
        ));
        if let Some((rejected, total)) = v.rejected {
            body.push_str(&format!(
                "The {} of its {} requests rejected with 429 Too Many Requests are `{level}` holding it \
                 under load. ",
                findings::thousands(i128::from(rejected)),
                findings::thousands(i128::from(total))
            ));
        }
        body.push_str(&format!("Watch its rejections with `{}`.", watch_rejections(level)));
        let note = undecided_note(v);
        if !note.is_empty() {
            body.push(' ');
            body.push_str(note.trim_end());
        }
        return vec![
            Remedy {
                title: format!(
                    "Held by priority level {level}, which only its unlimited borrowing loosens: cap it rather than add a level"
                ),
                kind: RemedyKind::Advice,
                body,
                safety: Safety::ReviewFirst,
            },
            stop_borrowing(level, have, want, &v.level_shared_with),
        ];
    }
    body.push_str(&today(v, true));
    body.push_str(&replaces(v));
    let mut safety = if v.already_applied.is_some() { Safety::ReviewFirst } else { Safety::Safe };
    let mut caveat = String::new();
    let mut extra = Vec::new();
    match (&v.current_level, &v.proposed_level) {
        (Some((level, None)), _) => {
            body.push_str(&format!(
                "`{level}` is not a priority level the API server creates, and it is not among the manifests given: \
                 the client may already be throttled there. Compare it with the proposed level first (`kubectl get \
                 prioritylevelconfiguration {} -o yaml`); if it is as tight or tighter, do not apply the YAML \
                 and fix the client instead. ",
                remedy::shell_quote(level)
            ));
            safety = Safety::ReviewFirst;
            caveat = format!(", but compare it with priority level {level} first");
        }
        (Some((level, Some(have))), Some((_, want))) if have.borrowing_limit_percent.is_none() => {
            // Not a throttle, however few its shares: "When this field is left nil, the limit
            // is effectively infinite" (API reference, borrowingLimitPercent).
            body.push_str(&format!(
                "`{level}` ({}) sets no borrowingLimitPercent: whenever other priority levels have idle seats it may \
                 borrow them without limit, so it can run many times its own seats and does not hold this client to \
                 a fixed number. It is not a throttle, whatever its shares; the proposed level ({}) is. ",
                have.describe(),
                want.describe()
            ));
            if let Some((rejected, total)) = v.rejected {
                body.push_str(&format!(
                    "The {} of its {} requests rejected with 429 Too Many Requests show `{level}` holds \
                     it when the other levels are busy, not that it always does. ",
                    findings::thousands(i128::from(rejected)),
                    findings::thousands(i128::from(total))
                ));
            }
            if v.level_shared_with.is_empty() {
                body.push_str(&format!(
                    "Apply the throttle, or cap `{level}` itself instead (the patch that stops its borrowing, below). "
                ));
            } else {
                // Capped, it might hold this client tighter than the proposed level; but the cap
                // holds every client sent to it (review s45 item 2: the throttle was dropped).
                body.push_str(&format!(
                    "Apply the throttle. Capping `{level}` instead (the patch that stops its borrowing, below) would \
                     also cap the requests of {} {}, which send to it too: review first what those clients need. ",
                    plural("FlowSchema", v.level_shared_with.len()),
                    join_and(&v.level_shared_with.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>())
                ));
            }
            extra.push(stop_borrowing(level, have, want, &v.level_shared_with));
            safety = Safety::ReviewFirst;
        }
        (Some((level, Some(have))), Some((_, want))) => {
            body.push_str(&format!(
                "`{level}` ({}) is looser than the proposed level ({}): the throttle tightens the limit on these \
                 requests. ",
                have.describe(),
                want.describe()
            ));
            safety = Safety::ReviewFirst;
        }
        _ => {}
    }
    let title = if let Some(first) = v.preempted_by.first() {
        let more = match v.preempted_by.len() - 1 {
            0 => String::new(),
            1 => " (1 more FlowSchema comes first too)".to_owned(),
            n => format!(" ({n} more FlowSchemas come first too)"),
        };
        let lowest = v.preempted_by.iter().map(|p| p.precedence).min().unwrap_or(first.precedence);
        // A FlowSchema that sends to the `exempt` level exempts these requests on purpose
        // (review of the remedies, item 6: OpenShift's `openshift-apiserver-sar` was explained
        // as something to get ahead of; throttling those reviews stalls every OpenShift request).
        let deliberate: Vec<String> =
            v.preempted_by.iter().filter(|p| p.level == "exempt").map(|p| format!("`{}`", p.name)).collect();
        let narrow = if v.preempted_by.len() == 1 {
            format!("`{}`", first.name)
        } else {
            "those FlowSchemas".to_owned()
        };
        let title = if v.all_preempted && first.part.is_none() {
            body.push_str(&format!(
                "FlowSchema `{}` (matchingPrecedence {}, priority level `{}`) also matches them and the API server \
                 consults it before the throttle's `{name}` (matchingPrecedence {precedence}), so the throttle would \
                 not apply{more}. ",
                first.name, first.precedence, first.level
            ));
            format!("The cluster's FlowSchema {} would catch these requests before the throttle", first.name)
        } else {
            for pre in &v.preempted_by {
                let part = pre.part.as_deref().unwrap_or("all of them");
                body.push_str(&format!(
                    "FlowSchema `{}` (matchingPrecedence {}, priority level `{}`) is consulted before the throttle's \
                     `{name}` (matchingPrecedence {precedence}) and catches {part}. ",
                    pre.name, pre.precedence, pre.level
                ));
            }
            if v.all_preempted {
                body.push_str(
                    "Between them they catch every one of these requests: the throttle would not apply. ",
                );
                let names: Vec<String> = v.preempted_by.iter().map(|p| p.name.clone()).collect();
                format!(
                    "The cluster's FlowSchemas {} would catch these requests before the throttle",
                    join_and(&names)
                )
            } else {
                body.push_str("Those requests stay where they are; the throttle holds only the rest. ");
                if lowest > 1 && deliberate.is_empty() {
                    body.push_str("To hold all of them: ");
                }
                let part = first.part.as_deref().unwrap_or("all of them");
                format!(
                    "The cluster's FlowSchema {} would catch part of these requests before the throttle: {part}{more}",
                    first.name
                )
            }
        };
        // The first of them in the API server's order: the one a throttle must come before.
        // Only matchingPrecedence 1 is out of reach (the API server keeps it for `exempt`); at 2,
        // ties go by name (review s45 item 6: OpenShift's `openshift-apiserver-sar` at 2 was
        // explained as `exempt` and system:masters).
        let earliest =
            v.preempted_by.iter().min_by(|a, b| (a.precedence, &a.name).cmp(&(b.precedence, &b.name)));
        let earliest_name = earliest.map_or(first.name.as_str(), |p| p.name.as_str());
        if lowest <= 1 && earliest_name == "exempt" {
            body.push_str(
                "No throttle can come before it: matchingPrecedence 1 is reserved for the mandatory `exempt` \
                 FlowSchema. Requests of group system:masters are always exempt: give the client an identity of its \
                 own outside that group.",
            );
        } else if !deliberate.is_empty() {
            let (it, sends) = if deliberate.len() == 1 { ("it", "sends") } else { ("them", "send") };
            body.push_str(&format!(
                "{} {sends} those requests to the priority level `exempt` on purpose: the cluster's owners (or its \
                 platform, as OpenShift does for the reviews its API servers wait on) want them never queued or \
                 rejected. The throttle is overridden there on purpose and should not be forced: do not give it a \
                 lower matchingPrecedence or a name that sorts first, and do not narrow {it}. If these requests load \
                 the API server, find out why the client sends them (see the advice).",
                join_and(&deliberate)
            ));
        } else if lowest <= 1 {
            body.push_str(&format!(
                "No throttle can come before `{earliest_name}`: it has matchingPrecedence 1, which the API server \
                 keeps for the mandatory `exempt` FlowSchema. Narrow {narrow}."
            ));
        } else if lowest == 2 {
            body.push_str(&format!(
                "`{earliest_name}` has matchingPrecedence 2, the lowest a throttle may have, and between FlowSchemas \
                 of one precedence the API server consults the one whose name sorts first: give the throttle \
                 matchingPrecedence 2 and a name that sorts before `{earliest_name}`, or narrow {narrow}."
            ));
        } else {
            body.push_str(&format!(
                "Set the throttle's matchingPrecedence below {lowest} (any of 2 to {}), or narrow {narrow}.",
                lowest - 1
            ));
        }
        safety = Safety::ReviewFirst;
        if deliberate.is_empty() || (lowest <= 1 && earliest_name == "exempt") {
            title
        } else {
            format!("{title} (exempted on purpose: do not force the throttle ahead of it)")
        }
    } else if !v.undecided.is_empty() {
        safety = Safety::ReviewFirst;
        undecided_title(v)
    } else {
        if v.judged {
            body.push_str(&format!(
            "The throttle's FlowSchema `{name}` (matchingPrecedence {precedence}) comes before every FlowSchema given \
             that matches these requests: it takes effect."
        ));
        }
        format!("Checked against the cluster's FlowSchemas: the throttle takes effect{caveat}")
    };
    let note = undecided_note(v);
    if !note.is_empty() {
        if !body.is_empty() && !body.ends_with(' ') {
            body.push(' ');
        }
        body.push_str(note.trim_end());
        safety = Safety::ReviewFirst;
    }
    let mut title = title;
    if !v.unjudged.is_empty() {
        // A group or `NS/*` names no identity to match the cluster's schemas against (review
        // s44: such throttles were all said to take effect).
        let who = v.unjudged.join(", ");
        body.push_str(&format!(
            " Not checked: the requests of {who}, which stand for identities not known here; look for the FlowSchemas \
             with a matchingPrecedence below {precedence} whose subjects take them in (`kubectl get flowschemas`)."
        ));
        safety = Safety::ReviewFirst;
        if v.preempted_by.is_empty() {
            title = if !v.judged {
                format!("Not checked against the cluster's FlowSchemas: {who} names no identity to match")
            } else {
                format!("{title}, for the identities checked (not {who})")
            };
        }
    }
    let mut out = vec![Remedy { title, kind: RemedyKind::Advice, body, safety }];
    out.extend(extra);
    out
}

/// The patch that stops the cluster's level `level` (limits `have`, no borrowingLimitPercent)
/// borrowing other levels' seats. A level of 0 nominal shares (allowed in flowcontrol v1)
/// runs on borrowed seats only: NominalCL = ceil(ServerCL × 0 / Σ shares) = 0, and with
/// borrowingLimitPercent 0 its BorrowingCL = round(0 × 0 / 100) = 0 too (API reference,
/// LimitedPriorityLevelConfiguration), so it would have no seats at all and its requests
/// could only queue and be rejected. Such a level gets the proposed level's shares in the same
/// patch. `nominalConcurrencyShares` is the field's name in v1beta3 and v1, the versions a
/// server that borrows (1.26 and later) serves.
fn stop_borrowing(level: &str, have: &Limits, want: &Limits, shared_with: &[String]) -> Remedy {
    let quoted = remedy::shell_quote(level);
    let shown = remedy::one_line(level);
    let who = if shared_with.is_empty() {
        format!(
            "Every client sent to {shown} is held by it: check which FlowSchemas name it first (kubectl get flowschemas)."
        )
    } else {
        let names: Vec<String> = shared_with.iter().map(|n| remedy::one_line(n)).collect();
        format!(
            "It also holds the clients of {} {}, which send to {shown} too.",
            plural("FlowSchema", names.len()),
            join_and(&names)
        )
    };
    let also = if shared_with.is_empty() {
        String::new()
    } else {
        format!(" (it also caps {})", join_and(shared_with))
    };
    if have.shares == 0 {
        let n = want.shares.max(1);
        Remedy {
            title: format!(
                "Give priority level {level} {n} concurrency shares of its own and stop it borrowing{also}"
            ),
            kind: RemedyKind::Command,
            body: format!(
                "kubectl patch prioritylevelconfiguration {quoted} --type=merge -p '{{\"spec\":{{\"limited\":{{\"nominalConcurrencyShares\":{n},\"borrowingLimitPercent\":0}}}}}}'\n\
                 # {shown} has nominalConcurrencyShares 0: it runs only on seats it borrows from other levels.\n\
                 # borrowingLimitPercent 0 alone would leave it no seats at all (its requests could only queue and be\n\
                 # rejected), so the patch also gives it {n} shares, as many as the proposed level.\n\
                 # {who}"
            ),
            safety: Safety::ReviewFirst,
        }
    } else {
        Remedy {
            title: format!("Stop priority level {level} borrowing other levels' idle seats{also}"),
            kind: RemedyKind::Command,
            body: format!(
                "kubectl patch prioritylevelconfiguration {quoted} --type=merge -p '{{\"spec\":{{\"limited\":{{\"borrowingLimitPercent\":0}}}}}}'\n\
                 # {shown} sets no borrowingLimitPercent, so it may borrow the seats other levels lend without limit.\n\
                 # {who}"
            ),
            safety: Safety::ReviewFirst,
        }
    }
}

/// The remedy that says what [`judge`] found (the first of [`verdict_remedies`]).
pub fn verdict_remedy(v: &Verdict) -> Remedy {
    verdict_remedies(v).swap_remove(0)
}

/// Adds, after each throttle remedy of `findings`, what the FlowSchemas of `m` say of it; when
/// that is only that it takes effect ([`confirmation`]), the throttle's title and the first
/// lines of its YAML say so instead, and no remedy is added. A throttle that would loosen the
/// level the client is already held in is taken out, with the command that watches it, and the
/// advice says so. Nothing changes when `m` holds no FlowSchema.
pub fn verify_throttles(findings: &mut [Finding], m: &Manifests) {
    if m.flow_schemas.is_empty() {
        return;
    }
    for f in findings {
        let mut i = 0;
        while i < f.remedies.len() {
            let r = &f.remedies[i];
            if r.kind == RemedyKind::Yaml
                && r.body.contains("kind: FlowSchema")
                && let Some(v) = judge(&r.body, m)
            {
                let verdict = verdict_remedies(&v);
                let added = verdict.len();
                if v.already_throttled() || v.capping_is_tighter() {
                    // The YAML, and the command watching its FlowSchema, give way to the verdict.
                    let watch = format!("flow_schema=\"{}\"", v.throttle.0);
                    f.remedies.remove(i);
                    f.remedies.retain(|r| !(r.kind == RemedyKind::Command && r.body.contains(&watch)));
                    for (k, r) in verdict.into_iter().enumerate() {
                        f.remedies.insert(i + k, r);
                    }
                    i += added;
                } else if let Some(comment) = confirmation(&v) {
                    // Nothing to review: the verdict is a line of the YAML it speaks of, not a
                    // remedy of its own (which was marked *safe to apply*, with nothing to apply).
                    let r = &mut f.remedies[i];
                    r.title.push_str(TAKES_EFFECT);
                    r.body.insert_str(0, &comment);
                    i += 1;
                } else {
                    for (k, r) in verdict.into_iter().enumerate() {
                        f.remedies.insert(i + 1 + k, r);
                    }
                    i += 1 + added;
                }
                continue;
            }
            i += 1;
        }
    }
}

/// The identities an AUD006 summary names (`… requests of CLIENT (a, b and 3 more) were …`).
fn identities_of(summary: &str, client: &str) -> Vec<String> {
    let Some(rest) = summary.split_once(&format!("requests of {client} (")).map(|(_, r)| r) else {
        return Vec::new();
    };
    let Some((list, _)) = rest.split_once(") were ") else { return Vec::new() };
    let list = list.rsplit_once(" and ").filter(|(_, more)| more.ends_with(" more")).map_or(list, |(l, _)| l);
    list.split(", ").map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

/// The FlowSchema of `m` that holds `user`'s requests by name (not through a group or every
/// user or service account of a namespace), the first the API server consults: the client's
/// own, if it has one.
fn own_flow_schema<'a>(m: &'a Manifests, user: &str) -> Option<&'a FlowSchema> {
    let groups = if user.starts_with("system:serviceaccount:") {
        let ns = user.split(':').nth(2).unwrap_or_default();
        vec![
            "system:serviceaccounts".to_owned(),
            format!("system:serviceaccounts:{ns}"),
            "system:authenticated".to_owned(),
        ]
    } else {
        vec!["system:authenticated".to_owned()]
    };
    let mut ordered: Vec<&FlowSchema> =
        m.flow_schemas.iter().filter(|fs| level_exists(fs, &m.priority_levels)).collect();
    ordered.sort_by(|a, b| (a.matching_precedence, &a.name).cmp(&(b.matching_precedence, &b.name)));
    // The first schema taking in any of its requests; it is the client's own when that rule
    // names it.
    let first = ordered.into_iter().find(|fs| {
        fs.rules
            .iter()
            .any(|r| r.subjects.iter().any(|s| s.matches(user, &groups)) && !r.resource_rules.is_empty())
    })?;
    first
        .rules
        .iter()
        .any(|r| r.subjects.iter().any(|s| !s.is_broad() && s.matches(user, &groups)))
        .then_some(first)
}

/// Each client AUD006 finds throttled (429) whose identity the manifests' FlowSchemas hold in
/// a priority level of its own: the finding says so, and that the fix is in the client (review
/// s51, item 10: the 429s of a client already on its own level read as if nothing held it).
pub fn name_the_throttle_holding(findings: &mut [Finding], m: &Manifests) {
    for f in findings.iter_mut().filter(|f| f.code == "AUD006" && f.title.ends_with("(429)")) {
        let client = f.subject.name.clone();
        let Some((user, fs)) = identities_of(&f.summary, &client)
            .into_iter()
            .find_map(|user| own_flow_schema(m, &user).map(|fs| (user, fs)))
        else {
            continue;
        };
        let text = format!(
            "FlowSchema `{}` ({}:{}, matchingPrecedence {}) already sends the requests of {} to priority level \
             `{}`: these 429s are that throttle working. The fix is in the client: make it send less (watch \
             instead of polling, back off on 429), or raise `{}`'s nominalConcurrencyShares if its load is \
             legitimate.",
            fs.name, fs.file, fs.line, fs.matching_precedence, user, fs.priority_level, fs.priority_level
        );
        f.summary.push_str(&format!(" {text}"));
        // A throttle the cluster chose, doing its job, is no page: on-call review 52, item 4
        // (critical, exit code 1 under `--fail-on critical`, for 429s the finding itself called
        // the throttle working). It stays a warning: the client still loses those requests.
        if f.severity > Severity::Warning {
            f.severity = Severity::Warning;
            f.summary.push_str(
                " A warning, not critical: the throttle protects the API server as it was made to.",
            );
        }
        f.remedies.insert(
            0,
            findings::remedy(
                &format!("{client} is already throttled by FlowSchema {}: fix the client", fs.name),
                RemedyKind::Advice,
                findings::Safety::Safe,
                text,
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Review s51 item 10: AUD006 called build-status-poller's 429s a problem with no word that
    /// the manifests already hold it in a priority level of its own.
    #[test]
    fn aud006_names_the_flow_schema_already_throttling_the_client() {
        let yaml = "apiVersion: flowcontrol.apiserver.k8s.io/v1\nkind: PriorityLevelConfiguration\nmetadata:\n  \
                    name: restricted-pollers\nspec:\n  type: Limited\n  limited:\n    nominalConcurrencyShares: 2\n\
                    ---\napiVersion: flowcontrol.apiserver.k8s.io/v1\nkind: FlowSchema\nmetadata:\n  name: \
                    throttle-build-status-poller\nspec:\n  matchingPrecedence: 500\n  priorityLevelConfiguration:\n    \
                    name: restricted-pollers\n  rules:\n  - resourceRules:\n    - apiGroups: ['*']\n      \
                    clusterScope: true\n      namespaces: ['*']\n      resources: ['*']\n      verbs: [list, get]\n    \
                    subjects:\n    - kind: ServiceAccount\n      serviceAccount:\n        name: build-status-poller\n        \
                    namespace: ci-tools\n";
        let mut m = Manifests::default();
        parse_text("apf.yaml", yaml, &mut m);
        assert_eq!(m.flow_schemas.len(), 1, "{:?}", m.files);
        let mut f = vec![Finding {
            code: "AUD006".into(),
            severity: findings::Severity::Critical,
            title: "build-status-poller: 45% of its requests throttled (429)".into(),
            subject: findings::Subject::new("client", "build-status-poller"),
            time_range: None,
            summary: "264 of 584 requests of build-status-poller (system:serviceaccount:ci-tools:build-status-poller) \
                      were throttled (429)."
                .into(),
            evidence: Default::default(),
            thresholds: vec![],
            remedies: vec![],
        }];
        let other = Finding { subject: findings::Subject::new("client", "x"), ..f[0].clone() };
        f.push(Finding { summary: f[0].summary.replace("ci-tools", "elsewhere"), ..other });
        name_the_throttle_holding(&mut f, &m);
        assert!(
            f[0].summary.contains(
                "FlowSchema `throttle-build-status-poller` (apf.yaml:10, matchingPrecedence 500) already sends"
            ),
            "{}",
            f[0].summary
        );
        assert!(f[0].remedies[0].title.contains("already throttled"), "{:?}", f[0].remedies);
        // On-call review 52, item 4: the throttle working is a warning, not a page.
        assert_eq!(f[0].severity, findings::Severity::Warning);
        assert!(
            f[0].summary.ends_with(
                "A warning, not critical: the throttle protects the API server as it was made to."
            )
        );
        assert!(f[1].remedies.is_empty(), "another identity: {:?}", f[1].remedies);
        assert_eq!(f[1].severity, findings::Severity::Critical, "another identity keeps its severity");
        assert_eq!(
            identities_of("1 of 2 requests of c (a, b and 3 more) were throttled (429).", "c"),
            vec!["a", "b"]
        );
    }
    use remedy::{ApfSubject, FlowControlApi, ResourceRule as Rule, ThrottlePlan, throttle_manifests};

    fn bootstrap() -> Manifests {
        let mut m = Manifests::default();
        let text = std::fs::read_to_string(format!(
            "{}/tests/fixtures/apf/k8s-bootstrap-apf-objects_v1.34plus.yaml",
            std::env::var("CARGO_MANIFEST_DIR").unwrap_or(env!("CARGO_MANIFEST_DIR").into())
        ))
        .expect("fixture");
        parse_text("apf.yaml", &text, &mut m);
        m
    }

    fn throttle_yaml() -> String {
        let plan = ThrottlePlan::new(
            "inventory-exporter",
            vec![ApfSubject::from_username("system:serviceaccount:observability:inventory-exporter")],
            vec![Rule {
                verbs: ["list".to_owned()].into(),
                api_groups: ["".to_owned()].into(),
                resources: ["pods".to_owned()].into(),
                cluster_scope: true,
                namespaces: ["*".to_owned()].into(),
            }],
        );
        throttle_manifests(&plan, FlowControlApi::V1).expect("yaml")
    }

    #[test]
    fn the_generated_throttle_comes_before_the_bootstrap_schemas() {
        let v = judge(&throttle_yaml(), &bootstrap()).expect("a FlowSchema");
        assert_eq!(v.throttle, ("throttle-sa-observability.inventory-exporter".to_owned(), 90));
        assert_eq!(v.today, Some(("service-accounts".to_owned(), 9000, "workload-low".to_owned())));
        assert!(v.preempted_by.is_empty());
        assert!(v.already_applied.is_none());
        let r = verdict_remedy(&v);
        assert_eq!(r.safety, Safety::Safe);
        assert!(r.body.starts_with("Today these requests are classified by FlowSchema `service-accounts`"));
    }

    #[test]
    fn a_schema_consulted_first_that_exempts_the_client_is_named() {
        let mut m = bootstrap();
        parse_text(
            "exempt.yaml",
            "apiVersion: flowcontrol.apiserver.k8s.io/v1\nkind: FlowSchema\nmetadata:\n  name: observability-exempt\nspec:\n  matchingPrecedence: 50\n  priorityLevelConfiguration:\n    name: exempt\n  rules:\n  - subjects:\n    - kind: Group\n      group:\n        name: system:serviceaccounts:observability\n    resourceRules:\n    - verbs: ['*']\n      apiGroups: ['*']\n      resources: ['*']\n      clusterScope: true\n      namespaces: ['*']\n",
            &mut m,
        );
        let v = judge(&throttle_yaml(), &m).expect("a FlowSchema");
        assert_eq!(v.today, Some(("observability-exempt".to_owned(), 50, "exempt".to_owned())));
        assert_eq!(
            v.preempted_by,
            vec![Preemption {
                name: "observability-exempt".to_owned(),
                precedence: 50,
                level: "exempt".to_owned(),
                part: None
            }]
        );
        assert!(v.all_preempted);
        let r = verdict_remedy(&v);
        assert_eq!(r.safety, Safety::ReviewFirst);
        // Review of the remedies, item 6: a schema sending to `exempt` exempts on purpose; the
        // verdict said how to get ahead of it ("Set the throttle's matchingPrecedence below 50").
        assert_eq!(
            r.title,
            "The cluster's FlowSchema observability-exempt would catch these requests before the throttle \
             (exempted on purpose: do not force the throttle ahead of it)"
        );
        assert!(
            r.body.contains(
                "`observability-exempt` sends those requests to the priority level `exempt` on purpose"
            ),
            "{}",
            r.body
        );
        assert!(!r.body.contains("Set the throttle's matchingPrecedence below"), "{}", r.body);
    }

    /// A FlowSchema at precedence 50 for the exporter's service account with `rule` as its
    /// one resource rule (flow-style YAML).
    fn earlier_schema(name: &str, rule: &str) -> String {
        format!(
            "apiVersion: flowcontrol.apiserver.k8s.io/v1\nkind: FlowSchema\nmetadata: {{name: {name}}}\nspec:\n  \
             matchingPrecedence: 50\n  priorityLevelConfiguration: {{name: workload-low}}\n  rules:\n  - subjects: \
             [{{kind: ServiceAccount, serviceAccount: {{namespace: observability, name: inventory-exporter}}}}]\n    \
             resourceRules: [{rule}]\n"
        )
    }

    fn wide_throttle_yaml() -> String {
        let plan = ThrottlePlan::new(
            "inventory-exporter",
            vec![ApfSubject::from_username("system:serviceaccount:observability:inventory-exporter")],
            vec![Rule {
                verbs: ["*".to_owned()].into(),
                api_groups: ["*".to_owned()].into(),
                resources: ["*".to_owned()].into(),
                cluster_scope: true,
                namespaces: ["*".to_owned()].into(),
            }],
        );
        throttle_manifests(&plan, FlowControlApi::V1).expect("yaml")
    }

    fn judged_with(schemas: &[(&str, &str)]) -> Verdict {
        let mut m = bootstrap();
        for (name, rule) in schemas {
            parse_text("earlier.yaml", &earlier_schema(name, rule), &mut m);
        }
        judge(&wide_throttle_yaml(), &m).expect("a FlowSchema")
    }

    /// Review s43: a FlowSchema consulted first that matched only `get`, only one namespace, or
    /// no cluster-wide request was said to catch every request ("the throttle would not apply").
    #[test]
    fn a_schema_consulted_first_that_catches_only_part_of_the_requests_says_which_part() {
        let cases = [
            (
                "only-get",
                "{verbs: [get], apiGroups: ['*'], resources: ['*'], namespaces: ['*'], clusterScope: true}",
                "requests with verb `get`",
            ),
            (
                "only-obs",
                "{verbs: ['*'], apiGroups: ['*'], resources: ['*'], namespaces: [observability], clusterScope: false}",
                "requests in namespace `observability`",
            ),
            (
                "no-cluster",
                "{verbs: ['*'], apiGroups: ['*'], resources: ['*'], namespaces: ['*'], clusterScope: false}",
                "namespaced requests",
            ),
            (
                "cluster-only",
                "{verbs: ['*'], apiGroups: ['*'], resources: ['*'], clusterScope: true}",
                "cluster-wide requests",
            ),
            (
                "gets-and-lists",
                "{verbs: [get], apiGroups: ['*'], resources: ['*'], namespaces: ['*'], clusterScope: true}, \
                 {verbs: [list], apiGroups: ['*'], resources: ['*'], namespaces: ['*'], clusterScope: true}",
                "requests with verb `get`; requests with verb `list`",
            ),
            (
                "pods-lists",
                "{verbs: [list, watch], apiGroups: [''], resources: [pods], namespaces: ['*'], clusterScope: true}",
                "requests with verbs `list`, `watch`, API group `\"\"` (the core group) and resource `pods`",
            ),
        ];
        for (name, rule, part) in cases {
            let v = judged_with(&[(name, rule)]);
            assert!(!v.all_preempted, "{name}");
            assert_eq!(v.preempted_by.len(), 1, "{name}");
            assert_eq!(v.preempted_by[0].part.as_deref(), Some(part), "{name}");
            assert_eq!(v.today_part.as_deref(), Some(part), "{name}");
            assert!(
                v.current_level.is_none(),
                "{name}: a level holding part of the requests is not the client's level"
            );
            let r = verdict_remedy(&v);
            assert_eq!(
                r.title,
                format!(
                    "The cluster's FlowSchema {name} would catch part of these requests before the throttle: {part}"
                )
            );
            assert!(r.body.contains("the throttle holds only the rest"), "{name}: {}", r.body);
            assert!(!r.body.contains("would not apply"), "{name}: {}", r.body);
            assert_eq!(r.safety, Safety::ReviewFirst);
        }
    }

    fn plan_yaml(subjects: Vec<ApfSubject>, verbs: &[&str], rules: &[(&str, &[&str])]) -> String {
        let plan = ThrottlePlan::new(
            "c",
            subjects,
            rules
                .iter()
                .map(|(group, resources)| Rule {
                    verbs: verbs.iter().map(|v| (*v).to_owned()).collect(),
                    api_groups: [(*group).to_owned()].into(),
                    resources: resources.iter().map(|r| (*r).to_owned()).collect(),
                    cluster_scope: true,
                    namespaces: ["*".to_owned()].into(),
                })
                .collect(),
        );
        throttle_manifests(&plan, FlowControlApi::V1).expect("yaml")
    }

    fn with_schemas(schemas: &[(&str, u32, &str)]) -> Manifests {
        let mut m = bootstrap();
        for (name, precedence, rule) in schemas {
            let yaml = earlier_schema(name, rule)
                .replace("matchingPrecedence: 50", &format!("matchingPrecedence: {precedence}"));
            parse_text("earlier.yaml", &yaml, &mut m);
        }
        m
    }

    /// Review s44 (throttle verdict review): schemas that each catch one listed verb caught
    /// every request between them, but were said to catch part; a throttle rule caught whole
    /// among others was described as bare "requests"; groups and `NS/*` were said to take effect.
    #[test]
    fn listed_values_caught_by_several_schemas_add_up_and_parts_name_their_resources() {
        let sa = || ApfSubject::from_username("system:serviceaccount:observability:inventory-exporter");
        let any = "apiGroups: ['*'], resources: ['*'], namespaces: ['*'], clusterScope: true";
        let m = with_schemas(&[
            ("a-list", 40, &format!("{{verbs: [list], {any}}}")),
            ("b-watch", 60, &format!("{{verbs: [watch], {any}}}")),
        ]);
        let v = judge(&plan_yaml(vec![sa()], &["list", "watch"], &[("", &["pods"])]), &m).expect("verdict");
        assert!(v.all_preempted, "{v:?}");
        assert_eq!(
            verdict_remedy(&v).title,
            "The cluster's FlowSchemas a-list and b-watch would catch these requests before the throttle"
        );
        // Of pods (core) and deployments/scale (apps), a schema of every apps resource catches one rule.
        let m = with_schemas(&[(
            "apps-all",
            50,
            "{verbs: ['*'], apiGroups: [apps], resources: ['*'], namespaces: ['*'], clusterScope: true}",
        )]);
        let v =
            judge(&plan_yaml(vec![sa()], &["*"], &[("", &["pods"]), ("apps", &["deployments/scale"])]), &m)
                .expect("verdict");
        assert!(!v.all_preempted);
        assert_eq!(
            v.preempted_by[0].part.as_deref(),
            Some("requests with resource `deployments.apps/scale`")
        );
        // A group names no identity: not checked, not "takes effect".
        let group = plan_yaml(
            vec![ApfSubject::Group("system:serviceaccounts:observability".to_owned())],
            &["*"],
            &[("", &["pods"])],
        );
        let v = judge(&group, &m).expect("verdict");
        assert!(!v.judged);
        let r = verdict_remedy(&v);
        assert_eq!(
            r.title,
            "Not checked against the cluster's FlowSchemas: group system:serviceaccounts:observability names no identity to match"
        );
        assert!(!r.body.contains("takes effect"), "{}", r.body);
    }

    #[test]
    fn schemas_consulted_first_that_catch_every_request_between_them_stop_the_throttle() {
        let v = judged_with(&[
            ("cluster-only", "{verbs: ['*'], apiGroups: ['*'], resources: ['*'], clusterScope: true}"),
            (
                "no-cluster",
                "{verbs: ['*'], apiGroups: ['*'], resources: ['*'], namespaces: ['*'], clusterScope: false}",
            ),
        ]);
        assert!(v.all_preempted);
        let r = verdict_remedy(&v);
        assert_eq!(
            r.title,
            "The cluster's FlowSchemas cluster-only and no-cluster would catch these requests before the throttle"
        );
        assert!(
            r.body.contains(
                "Between them they catch every one of these requests: the throttle would not apply"
            ),
            "{}",
            r.body
        );
        // A schema that covers the throttle's requests only where it matches none of them
        // (another verb than the throttle's) is not named.
        let narrow = judge(
            &throttle_yaml(),
            &{
                let mut m = bootstrap();
                parse_text(
                    "earlier.yaml",
                    &earlier_schema("only-get", "{verbs: [get], apiGroups: ['*'], resources: ['*'], namespaces: ['*'], clusterScope: true}"),
                    &mut m,
                );
                m
            },
        )
        .expect("a FlowSchema");
        assert!(narrow.preempted_by.is_empty(), "{narrow:?}");
        assert_eq!(narrow.today, Some(("service-accounts".to_owned(), 9000, "workload-low".to_owned())));
    }

    #[test]
    fn the_verdict_follows_each_throttle_remedy_and_nothing_else_changes() {
        let mut findings = vec![Finding {
            code: "AUD004".into(),
            severity: findings::Severity::Warning,
            title: "t".into(),
            subject: findings::Subject::new("client", "inventory-exporter"),
            time_range: None,
            summary: String::new(),
            evidence: findings::Evidence::default(),
            thresholds: Vec::new(),
            remedies: vec![
                Remedy {
                    title: "throttle".into(),
                    kind: RemedyKind::Yaml,
                    body: throttle_yaml(),
                    safety: Safety::ReviewFirst,
                },
                Remedy {
                    title: "advice".into(),
                    kind: RemedyKind::Advice,
                    body: "paginate".into(),
                    safety: Safety::Safe,
                },
            ],
        }];
        verify_throttles(&mut findings, &Manifests::default());
        assert_eq!(findings[0].remedies.len(), 2, "no FlowSchemas given: nothing added");
        verify_throttles(&mut findings, &bootstrap());
        let titles: Vec<&str> = findings[0].remedies.iter().map(|r| r.title.as_str()).collect();
        assert_eq!(
            titles,
            vec!["throttle (checked against the cluster's FlowSchemas: it takes effect)", "advice"]
        );
        assert_eq!(findings[0].remedies[1].body, "paginate");
    }

    /// The YAML documents of `text`, parsed.
    fn documents(text: &str) -> Vec<yaml_serde::Value> {
        use serde::Deserialize;
        yaml_serde::Deserializer::from_str(text)
            .map(|doc| yaml_serde::Value::deserialize(doc).expect("every document parses"))
            .filter(|v| !v.is_null())
            .collect()
    }

    /// A proposed throttle found to take effect was followed by a remedy of its own, of kind
    /// Advice, "Checked against the cluster's FlowSchemas: the throttle takes effect", marked
    /// *safe to apply*: a statement about the YAML before it, with nothing to apply. The
    /// confirmation is now part of the throttle it speaks of: its title, and a comment before
    /// its YAML, which still applies as it did.
    #[test]
    fn a_throttle_that_takes_effect_was_a_remedy_marked_safe_to_apply() {
        let yaml = throttle_yaml();
        let mut findings = finding_with(yaml.clone());
        findings[0].remedies[0].title = "Throttle inventory-exporter".into();
        verify_throttles(&mut findings, &bootstrap());
        let remedies = &findings[0].remedies;
        let titles: Vec<&str> = remedies.iter().map(|r| r.title.as_str()).collect();
        assert_eq!(
            titles,
            vec![
                "Throttle inventory-exporter (checked against the cluster's FlowSchemas: it takes effect)",
                "watch",
                "advice"
            ]
        );
        assert!(!titles.iter().any(|t| t.contains("the throttle takes effect")), "{titles:?}");
        assert!(
            !remedies.iter().any(|r| r.kind == RemedyKind::Advice
                && r.safety == Safety::Safe
                && r.body.contains("takes effect")),
            "{remedies:?}"
        );
        let throttle = &remedies[0];
        assert_eq!((throttle.kind, throttle.safety), (RemedyKind::Yaml, Safety::ReviewFirst));
        let comment = "# Checked against the cluster's FlowSchemas: FlowSchema throttle-sa-observability.inventory-exporter\n\
                       # (matchingPrecedence 90) comes before every FlowSchema given that matches these requests: it takes\n\
                       # effect. Today these requests are classified by FlowSchema service-accounts (matchingPrecedence\n\
                       # 9000) into priority level workload-low.\n";
        assert_eq!(throttle.body, format!("{comment}{yaml}"));
        assert!(comment.lines().all(|l| l.starts_with("# ") && l.chars().count() <= 100), "{comment}");
        // The same objects as before, for `kubectl apply -f -`.
        assert_eq!(documents(&throttle.body), documents(&yaml));
        assert_eq!(documents(&yaml).len(), 2);
        // Judged again, the YAML says the same.
        assert_eq!(judge(&throttle.body, &bootstrap()), judge(&yaml, &bootstrap()));
        // Any doubt keeps the verdict a remedy of its own, review first, and the YAML as it was.
        let mut m = bootstrap();
        parse_text("apf.yaml", &restricted_pollers(50, None), &mut m);
        let mut findings = finding_with(poller_yaml(None));
        verify_throttles(&mut findings, &m);
        assert_eq!(findings[0].remedies[0].body, poller_yaml(None));
        assert_eq!(findings[0].remedies[0].title, "throttle");
        assert_eq!(findings[0].remedies[1].safety, Safety::ReviewFirst);
    }

    fn poller_yaml(rejected: Option<(u64, u64)>) -> String {
        let mut plan = ThrottlePlan::new(
            "build-status-poller",
            vec![ApfSubject::from_username("system:serviceaccount:ci-tools:build-status-poller")],
            vec![Rule {
                verbs: ["list".to_owned()].into(),
                api_groups: ["".to_owned()].into(),
                resources: ["pods".to_owned()].into(),
                cluster_scope: false,
                namespaces: ["*".to_owned()].into(),
            }],
        );
        plan.already_rejected = rejected;
        throttle_manifests(&plan, FlowControlApi::V1).expect("yaml")
    }

    /// The apf-throttled scenario's own throttle: a FlowSchema named like ours sending the
    /// poller to `restricted-pollers`, 2 shares and 4 queues of 10 (`BORROWING`: a
    /// `borrowingLimitPercent` line, or nothing).
    const RESTRICTED_POLLERS: &str = "apiVersion: flowcontrol.apiserver.k8s.io/v1\nkind: PriorityLevelConfiguration\nmetadata:\n  name: restricted-pollers\nspec:\n  type: Limited\n  limited:\n    nominalConcurrencyShares: SHARES\n    lendablePercent: 0\nBORROWING    limitResponse:\n      type: Queue\n      queuing:\n        queues: 4\n        handSize: 2\n        queueLengthLimit: 10\n---\napiVersion: flowcontrol.apiserver.k8s.io/v1\nkind: FlowSchema\nmetadata:\n  name: throttle-sa-ci-tools.build-status-poller\nspec:\n  distinguisherMethod:\n    type: ByUser\n  matchingPrecedence: 500\n  priorityLevelConfiguration:\n    name: restricted-pollers\n  rules:\n  - resourceRules:\n    - apiGroups: ['*']\n      clusterScope: true\n      namespaces: ['*']\n      resources: ['*']\n      verbs: [list, get]\n    subjects:\n    - kind: ServiceAccount\n      serviceAccount:\n        name: build-status-poller\n        namespace: ci-tools\n";

    /// The poller's objects with `shares` and, when `Some`, that `borrowingLimitPercent`.
    fn restricted_pollers(shares: u32, borrowing: Option<u32>) -> String {
        let line = borrowing.map_or(String::new(), |p| format!("    borrowingLimitPercent: {p}\n"));
        RESTRICTED_POLLERS.replace("SHARES", &shares.to_string()).replace("BORROWING", &line)
    }

    fn finding_with(yaml: String) -> Vec<Finding> {
        vec![Finding {
            code: "AUD006".into(),
            severity: findings::Severity::Critical,
            title: "t".into(),
            subject: findings::Subject::new("client", "build-status-poller"),
            time_range: None,
            summary: String::new(),
            evidence: findings::Evidence::default(),
            thresholds: Vec::new(),
            remedies: vec![
                Remedy { title: "throttle".into(), kind: RemedyKind::Yaml, body: yaml, safety: Safety::ReviewFirst },
                Remedy {
                    title: "watch".into(),
                    kind: RemedyKind::Command,
                    body: "kubectl get --raw /metrics | grep -E 'apiserver_flowcontrol_(rejected_requests_total|current_inqueue_requests).*flow_schema=\"throttle-sa-ci-tools.build-status-poller\"'".into(),
                    safety: Safety::Safe,
                },
                Remedy { title: "advice".into(), kind: RemedyKind::Advice, body: "poll less".into(), safety: Safety::Safe },
            ],
        }]
    }

    /// Remedy review item 3: the client was throttled already (FlowSchema
    /// throttle-sa-ci-tools.build-status-poller into restricted-pollers, 2 shares, 40 queue places, no
    /// borrowing), and the proposed level (5 shares, 800 places) was reported as taking
    /// effect, safe, and as replacing "those of its priority level".
    #[test]
    fn a_client_already_held_by_a_tighter_level_gets_no_looser_throttle() {
        let mut m = bootstrap();
        parse_text("apf.yaml", &restricted_pollers(2, Some(0)), &mut m);
        let mut findings = finding_with(poller_yaml(Some((831, 1840))));
        verify_throttles(&mut findings, &m);
        let remedies = &findings[0].remedies;
        let titles: Vec<&str> = remedies.iter().map(|r| r.title.as_str()).collect();
        assert_eq!(
            titles,
            vec![
                "Already throttled by FlowSchema throttle-sa-ci-tools.build-status-poller into priority level restricted-pollers: fix the client",
                "advice"
            ]
        );
        assert!(!remedies.iter().any(|r| r.kind == RemedyKind::Yaml), "no new level");
        let body = &remedies[0].body;
        assert!(body.contains("priority level `restricted-pollers` (2 concurrency shares, 4 queues of 10 requests, handSize 2, no borrowing)"), "{body}");
        assert!(body.contains("The proposed level would have 5 concurrency shares, 16 queues of 50 requests, handSize 4, no borrowing"), "{body}");
        assert!(
            body.contains(
                "The 831 of its 1,840 requests rejected with 429 Too Many Requests are that throttle working."
            ),
            "{body}"
        );
        assert!(!body.contains("takes effect") && !body.contains("those of its priority level"), "{body}");
        // Borrowing up to 150% more: at most 2 × 2.5 = 5 shares' seats, as many as the proposed level.
        let mut m = bootstrap();
        parse_text("apf.yaml", &restricted_pollers(2, Some(150)), &mut m);
        assert!(judge(&poller_yaml(None), &m).expect("fs").already_throttled());
        let mut m = bootstrap();
        parse_text("apf.yaml", &restricted_pollers(2, Some(200)), &mut m);
        assert!(!judge(&poller_yaml(None), &m).expect("fs").already_throttled(), "up to 6 shares' seats");
    }

    /// A level without borrowingLimitPercent and with more shares than the proposed level is
    /// no throttle: the throttle is kept, with the patch that would cap the level instead.
    #[test]
    fn a_level_that_borrows_without_limit_is_no_throttle_and_the_throttle_is_kept() {
        let mut m = bootstrap();
        parse_text("apf.yaml", &restricted_pollers(50, None), &mut m);
        let mut findings = finding_with(poller_yaml(Some((831, 1840))));
        verify_throttles(&mut findings, &m);
        let remedies = &findings[0].remedies;
        let titles: Vec<&str> = remedies.iter().map(|r| r.title.as_str()).collect();
        assert_eq!(
            titles,
            vec![
                "throttle",
                "Checked against the cluster's FlowSchemas: the throttle takes effect",
                "Stop priority level restricted-pollers borrowing other levels' idle seats",
                "watch",
                "advice"
            ]
        );
        assert!(!titles.iter().any(|t| t.contains("fix the client")), "{titles:?}");
        let verdict = &remedies[1];
        assert_eq!(verdict.safety, Safety::ReviewFirst);
        assert!(verdict.body.contains("`restricted-pollers` (50 concurrency shares, 4 queues of 10 requests, handSize 2, borrowing not limited (no borrowingLimitPercent)) sets no borrowingLimitPercent: whenever other priority levels have idle seats it may borrow them without limit"), "{}", verdict.body);
        assert!(verdict.body.contains("It is not a throttle, whatever its shares"), "{}", verdict.body);
        assert!(remedies[2].body.starts_with("kubectl patch prioritylevelconfiguration restricted-pollers --type=merge -p '{\"spec\":{\"limited\":{\"borrowingLimitPercent\":0}}}'"), "{}", remedies[2].body);
        assert_eq!(remedies[2].safety, Safety::ReviewFirst);
    }

    /// Regression review s20 N1: a level of 2 shares and 4 queues of 10 without
    /// borrowingLimitPercent, already rejecting half the client's requests, got as its first
    /// remedy a new level of 5 shares and 16 queues of 50: looser under load, when the old level
    /// borrows nothing. Capping the old level is tighter than both: it comes first, and no
    /// looser level is proposed.
    #[test]
    fn a_level_only_its_unlimited_borrowing_loosens_is_capped_not_replaced_by_a_looser_level() {
        let mut m = bootstrap();
        parse_text("apf.yaml", &restricted_pollers(2, None), &mut m);
        let mut findings = finding_with(poller_yaml(Some((831, 1840))));
        verify_throttles(&mut findings, &m);
        let remedies = &findings[0].remedies;
        let titles: Vec<&str> = remedies.iter().map(|r| r.title.as_str()).collect();
        assert_eq!(
            titles,
            vec![
                "Held by priority level restricted-pollers, which only its unlimited borrowing loosens: cap it rather than add a level",
                "Stop priority level restricted-pollers borrowing other levels' idle seats",
                "advice"
            ]
        );
        let verdict = &remedies[0];
        assert_eq!(verdict.safety, Safety::ReviewFirst);
        assert!(
            verdict
                .body
                .contains("Adding that level would loosen the limit when it matters, so none is proposed"),
            "{}",
            verdict.body
        );
        assert!(verdict.body.contains("The 831 of its 1,840 requests rejected with 429"), "{}", verdict.body);
    }

    /// The same FlowSchema sending the client to a looser level: the throttle tightens it, and
    /// the verdict says what applying does to the FlowSchema of the same name.
    #[test]
    fn a_throttle_replacing_a_looser_level_says_what_it_moves() {
        let mut m = bootstrap();
        parse_text("apf.yaml", &restricted_pollers(50, None), &mut m);
        let mut findings = finding_with(poller_yaml(None));
        verify_throttles(&mut findings, &m);
        let r = &findings[0].remedies[1];
        assert_eq!(r.title, "Checked against the cluster's FlowSchemas: the throttle takes effect");
        assert_eq!(r.safety, Safety::ReviewFirst, "it moves the client out of a level of the cluster's own");
        assert!(r.body.contains("sends its requests to the new priority level `throttle-sa-ci-tools.build-status-poller` instead of `restricted-pollers`"), "{}", r.body);
        assert!(!r.body.contains("and those of its priority level"), "{}", r.body);
        assert!(r.body.contains("`restricted-pollers` (50 concurrency shares"), "{}", r.body);
        // Its level not given (and no level at all): compare first, never plainly safe.
        let mut m = Manifests::default();
        parse_text("apf.yaml", RESTRICTED_POLLERS.split("---\n").nth(1).expect("flow schema"), &mut m);
        let v = judge(&poller_yaml(None), &m).expect("a FlowSchema");
        let r = verdict_remedy(&v);
        assert_eq!(r.safety, Safety::ReviewFirst);
        assert!(
            r.title.ends_with("but compare it with priority level restricted-pollers first"),
            "{}",
            r.title
        );
    }

    /// Remedy review item 4: the groups seen in the audit log (system:masters) decide the
    /// verdict: the mandatory `exempt` FlowSchema classifies the user first, and no precedence
    /// can beat it.
    #[test]
    fn a_user_seen_in_system_masters_is_classified_exempt_and_no_precedence_helps() {
        let mut plan = ThrottlePlan::new(
            "inventory-exporter",
            vec![ApfSubject::User("kubernetes-admin".into())],
            vec![Rule {
                verbs: ["list".to_owned()].into(),
                api_groups: ["".to_owned()].into(),
                resources: ["pods".to_owned()].into(),
                cluster_scope: true,
                namespaces: Default::default(),
            }],
        );
        let without =
            judge(&throttle_manifests(&plan, FlowControlApi::V1).expect("yaml"), &bootstrap()).expect("fs");
        assert_eq!(without.today, Some(("global-default".to_owned(), 9900, "global-default".to_owned())));
        plan.groups_seen.insert(
            "kubernetes-admin".into(),
            ["system:masters".to_owned(), "system:authenticated".to_owned()].into(),
        );
        let v =
            judge(&throttle_manifests(&plan, FlowControlApi::V1).expect("yaml"), &bootstrap()).expect("fs");
        assert_eq!(v.today, Some(("exempt".to_owned(), 1, "exempt".to_owned())));
        let r = verdict_remedy(&v);
        assert_eq!(r.safety, Safety::ReviewFirst);
        assert_eq!(r.title, "The cluster's FlowSchema exempt would catch these requests before the throttle");
        assert!(r.body.contains("No throttle can come before it"), "{}", r.body);
        assert!(!r.body.contains("Set the throttle's matchingPrecedence below 1"), "{}", r.body);
    }
}
