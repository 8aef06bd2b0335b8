//! API Priority and Fairness objects: FlowSchemas and PriorityLevelConfigurations, the fields
//! the checks read, in every `flowcontrol.apiserver.k8s.io` version.

use serde_json::Value;

use crate::selector::{kind_of, metadata_name};

pub use findings::apf::BOOTSTRAP_PRIORITY_LEVELS;

/// Who a FlowSchema rule is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlowSubject {
    /// A user name (`*` for every user).
    User(String),
    /// A group name.
    Group(String),
    /// A service account (`*` as the name for every one of the namespace).
    ServiceAccount {
        /// Its namespace.
        namespace: String,
        /// Its name, or `*`.
        name: String,
    },
}

impl FlowSubject {
    /// `group system:authenticated`, `service account ns/*`, `user alice`.
    pub fn describe(&self) -> String {
        match self {
            FlowSubject::User(n) => format!("user {n}"),
            FlowSubject::Group(n) => format!("group {n}"),
            FlowSubject::ServiceAccount { namespace, name } => format!("service account {namespace}/{name}"),
        }
    }

    /// Whether it stands for many identities: a group, every user, every service account of a
    /// namespace.
    pub fn is_broad(&self) -> bool {
        match self {
            FlowSubject::User(n) => n == "*",
            FlowSubject::Group(_) => true,
            FlowSubject::ServiceAccount { name, .. } => name == "*",
        }
    }
}

/// One `resourceRules` item: the requests for resources a FlowSchema rule takes in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResourceRule {
    /// Verbs, or `*`.
    pub verbs: Vec<String>,
    /// API groups (`""` is the core group), or `*`.
    pub api_groups: Vec<String>,
    /// Resources (`resource/subresource` for subresources), or `*`.
    pub resources: Vec<String>,
    /// Whether requests that name no namespace match.
    pub cluster_scope: bool,
    /// Namespaces matched, or `*`.
    pub namespaces: Vec<String>,
}

/// One `rules` item of a FlowSchema.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlowRule {
    /// Its subjects.
    pub subjects: Vec<FlowSubject>,
    /// Its `resourceRules`.
    pub resource_rules: Vec<ResourceRule>,
    /// Whether it has `nonResourceRules`.
    pub non_resource: bool,
    /// The `nonResourceURLs` of its `nonResourceRules`, over all of them.
    pub non_resource_urls: Vec<String>,
}

impl FlowRule {
    /// The resources of its `resourceRules`, over all of them (`*` for every resource).
    pub fn resources(&self) -> Vec<&str> {
        self.resource_rules.iter().flat_map(|r| &r.resources).map(String::as_str).collect()
    }

    /// Whether it takes in health checks only: no `resourceRules`, and `nonResourceURLs` that
    /// are all `/healthz`, `/readyz`, `/livez` or paths under them (`/readyz/etcd`,
    /// `/livez/*`), as the API server's bootstrap `probes` FlowSchema (groups
    /// `system:authenticated` and `system:unauthenticated`, `get` on those three URLs, to
    /// `exempt`; Kubernetes API Priority and Fairness docs, "Bootstrap configuration"). `*`
    /// and other prefixes are not health checks.
    pub fn health_checks_only(&self) -> bool {
        const HEALTH: [&str; 3] = ["/healthz", "/readyz", "/livez"];
        self.resource_rules.is_empty()
            && !self.non_resource_urls.is_empty()
            && self.non_resource_urls.iter().all(|u| {
                HEALTH
                    .iter()
                    .any(|h| u.strip_prefix(h).is_some_and(|rest| rest.is_empty() || rest.starts_with('/')))
            })
    }
}

/// A resource request as API Priority and Fairness classifies it. A field may be `*`: the
/// request then stands for all of them, and matches a rule that takes in any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The user name (`system:serviceaccount:NS:NAME` for a service account).
    pub user: String,
    /// The user's groups.
    pub groups: Vec<String>,
    /// The verb (`list`, `get`, …).
    pub verb: String,
    /// The API group (`""` for the core group).
    pub api_group: String,
    /// The resource (`pods`, `pods/status`).
    pub resource: String,
    /// The namespace, `None` for a request that names none (cluster-scoped, or across all
    /// namespaces).
    pub namespace: Option<String>,
}

impl Request {
    /// The identity of a subject as the API server authenticates it: a service account's user
    /// name and groups, or a user with `system:authenticated`; either with the groups `seen`
    /// for it in the audit log (`User.groups`, by user name), which Group subjects match.
    pub fn identity(
        subject: &FlowSubject,
        seen: &std::collections::BTreeMap<String, Vec<String>>,
    ) -> Option<(String, Vec<String>)> {
        let (user, mut groups) = match subject {
            FlowSubject::ServiceAccount { namespace, name } if name != "*" => (
                format!("system:serviceaccount:{namespace}:{name}"),
                vec![
                    "system:serviceaccounts".to_owned(),
                    format!("system:serviceaccounts:{namespace}"),
                    "system:authenticated".to_owned(),
                ],
            ),
            FlowSubject::User(name) if name != "*" => (name.clone(), vec!["system:authenticated".to_owned()]),
            _ => return None,
        };
        for g in seen.get(&user).into_iter().flatten() {
            if !groups.contains(g) {
                groups.push(g.clone());
            }
        }
        Some((user, groups))
    }

    /// Whether the groups of `subject` are known: a service account's always are (the API
    /// server gives it `system:serviceaccounts`, `system:serviceaccounts:NS` and
    /// `system:authenticated`, and no others); a user's only when the audit log showed them
    /// (`seen`, by user name). A user's groups come from its credentials (a certificate's
    /// organisations, a token's claims), and a user not `seen` may be in any group, such as
    /// `system:masters`, which the mandatory `exempt` FlowSchema takes in.
    pub fn groups_known(
        subject: &FlowSubject,
        seen: &std::collections::BTreeMap<String, Vec<String>>,
    ) -> bool {
        match subject {
            FlowSubject::ServiceAccount { .. } => true,
            FlowSubject::User(name) => seen.contains_key(name),
            FlowSubject::Group(_) => false,
        }
    }
}

/// `value` is among `allowed`, one of them is `*`, or `value` is `*` and `allowed` is not empty.
fn takes(allowed: &[String], value: &str) -> bool {
    allowed.iter().any(|a| a == "*" || a == value) || (value == "*" && !allowed.is_empty())
}

impl FlowSubject {
    /// Whether it takes in the identity `user` with `groups`.
    pub fn matches(&self, user: &str, groups: &[String]) -> bool {
        match self {
            FlowSubject::User(n) => n == "*" || n == user,
            FlowSubject::Group(g) => g == "*" || groups.iter().any(|x| x == g),
            FlowSubject::ServiceAccount { namespace, name } => user
                .strip_prefix("system:serviceaccount:")
                .and_then(|rest| rest.split_once(':'))
                .is_some_and(|(ns, n)| ns == namespace && (name == "*" || name == n)),
        }
    }
}

impl ResourceRule {
    fn matches(&self, r: &Request) -> bool {
        let scope_ok = match &r.namespace {
            None => self.cluster_scope,
            Some(ns) => takes(&self.namespaces, ns),
        };
        scope_ok
            && takes(&self.verbs, &r.verb)
            && takes(&self.api_groups, &r.api_group)
            && takes(&self.resources, &r.resource)
    }
}

impl FlowSchema {
    /// Whether one of its rules takes in the request.
    pub fn matches(&self, r: &Request) -> bool {
        self.rules.iter().any(|rule| {
            rule.subjects.iter().any(|s| s.matches(&r.user, &r.groups))
                && rule.resource_rules.iter().any(|rr| rr.matches(r))
        })
    }

    /// Whether the API server consults it before `other`: lower precedence, then name.
    pub fn comes_before(&self, other: &FlowSchema) -> bool {
        (self.matching_precedence, &self.name) < (other.matching_precedence, &other.name)
    }
}

/// Whether the API server uses `fs`: its priority level is among `levels` or one the API
/// server creates. With no level given at all, nothing is known to be missing and every
/// schema counts. The API server ignores a FlowSchema whose priority level does not exist
/// (its `Dangling` condition; Kubernetes API Priority and Fairness docs). One rule for
/// [`classify`], the throttle's check of the schemas consulted before it, and APF001.
pub fn level_exists(fs: &FlowSchema, levels: &[PriorityLevel]) -> bool {
    levels.is_empty()
        || levels.iter().any(|pl| pl.name == fs.priority_level)
        || BOOTSTRAP_PRIORITY_LEVELS.contains(&fs.priority_level.as_str())
}

/// The FlowSchema that classifies `r` among `schemas`: the first that matches, in the API
/// server's order. Schemas whose priority level is unknown (`levels` given and not naming it,
/// nor a bootstrap level) are skipped, as the API server skips them ([`level_exists`]).
pub fn classify<'a>(
    schemas: &'a [FlowSchema],
    levels: &[PriorityLevel],
    r: &Request,
) -> Option<&'a FlowSchema> {
    schemas
        .iter()
        .filter(|fs| level_exists(fs, levels))
        .filter(|fs| fs.matches(r))
        .min_by(|a, b| (a.matching_precedence, &a.name).cmp(&(b.matching_precedence, &b.name)))
}

/// A `FlowSchema`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowSchema {
    /// `metadata.name`.
    pub name: String,
    /// `spec.matchingPrecedence` (1000 when absent or 0, as the API server defaults it).
    pub matching_precedence: u32,
    /// `spec.priorityLevelConfiguration.name`.
    pub priority_level: String,
    /// `spec.rules`.
    pub rules: Vec<FlowRule>,
    /// Its label `app.kubernetes.io/managed-by` is `apiserver-doctor`: a throttle this tool
    /// wrote (see [`made_by_apiserver_doctor`]).
    pub by_apiserver_doctor: bool,
    /// The file it came from.
    pub file: String,
    /// The line its object starts at.
    pub line: usize,
}

/// The limits of a `Limited` priority level, with the API's defaults filled in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// `nominalConcurrencyShares` (v1beta3, v1) or `assuredConcurrencyShares` (v1beta1,
    /// v1beta2), as the API server defaults it: 30 when absent; an explicit 0 is kept only
    /// by v1 (and by v1beta3 with the annotation a v1 → v1beta3 conversion adds), the older
    /// versions read it as 30 (see [`Limits::zero_shares_read_as`]).
    pub shares: u32,
    /// When the object says 0 shares and the API server reads that as its default 30: the
    /// field and version (`nominalConcurrencyShares 0 in flowcontrol v1beta3`).
    pub zero_shares_read_as: Option<&'static str>,
    /// `lendablePercent` (0 when absent).
    pub lendable_percent: u32,
    /// `borrowingLimitPercent`; `None` when absent: from Kubernetes 1.26 the API server lends
    /// seats between levels, and a level without the field may borrow without limit ("When
    /// this field is left nil, the limit is effectively infinite", API reference,
    /// LimitedPriorityLevelConfiguration, v1beta2 from 1.26, v1beta3, v1). API servers before
    /// 1.26 do not borrow at all: see [`Limits::before_borrowing`].
    pub borrowing_limit_percent: Option<u32>,
    /// Set by [`Limits::before_borrowing`]: the API server is older than 1.26 and lends no
    /// seats between levels, whatever the object says.
    pub server_before_borrowing: bool,
    /// `queues`, `handSize`, `queueLengthLimit` when excess requests queue; `None` when they
    /// are rejected at once (`limitResponse.type: Reject`).
    pub queuing: Option<(u32, u32, u32)>,
}

impl Limits {
    /// Requests that can wait in its queues (0 when it rejects at once).
    pub fn queue_capacity(&self) -> u64 {
        self.queuing.map_or(0, |(q, _, l)| u64::from(q) * u64::from(l))
    }

    /// Requests of one flow (one user of a `ByUser` FlowSchema, or every request of a schema
    /// without distinguisher) that can wait in its queues: shuffle sharding deals each flow a
    /// hand of `handSize` queues and queues its requests only there, so at most `handSize ×
    /// queueLengthLimit` of them wait, however many queues the level has (capped at
    /// [`Limits::queue_capacity`]; 0 when it rejects at once). One client is one flow, or a few.
    pub fn flow_queue_capacity(&self) -> u64 {
        self.queuing.map_or(0, |(q, h, l)| u64::from(h.min(q)) * u64::from(l))
    }

    /// The limits on an API server older than Kubernetes 1.26, which lends no seats between
    /// levels (borrowing came with 1.26, the flowcontrol v1beta3 API and the
    /// `lendablePercent`/`borrowingLimitPercent` fields of v1beta2): no borrowing at all.
    pub fn before_borrowing(self) -> Limits {
        Limits { borrowing_limit_percent: Some(0), server_before_borrowing: true, ..self }
    }

    /// The most seats the level can reach, in hundredths of a concurrency share: its nominal
    /// shares plus what it may borrow, `BorrowingCL = round(NominalCL × borrowingLimitPercent
    /// / 100)` (API reference, LimitedPriorityLevelConfiguration). `None` when it may borrow
    /// without limit. Shares stand for seats: every level's NominalCL is the server's seats
    /// divided in proportion to the shares, so two levels of one server compare by shares.
    pub fn max_share_hundredths(&self) -> Option<u64> {
        self.borrowing_limit_percent.map(|p| u64::from(self.shares) * (100 + u64::from(p)))
    }

    /// Whether this level holds a client as tightly as `other` or more: the most seats it can
    /// reach (nominal plus borrowed) are no more than `other`'s, and no more of the client's
    /// requests can wait in its queues (one flow's, [`Limits::flow_queue_capacity`]: 8 queues
    /// of 100 with handSize 8 hold 800 of them, 16 of 50 with handSize 4 only 200, though both
    /// have 800 places). A level that may borrow without limit never does (unless `other` may
    /// too and it has no more shares and queue places).
    pub fn holds_as_tightly_as(&self, other: &Limits) -> bool {
        let seats = match (self.max_share_hundredths(), other.max_share_hundredths()) {
            (Some(mine), Some(theirs)) => mine <= theirs,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => self.shares <= other.shares,
        };
        seats && self.flow_queue_capacity() <= other.flow_queue_capacity()
    }

    /// `2 concurrency shares, 4 queues of 10 requests, handSize 2, no borrowing`.
    pub fn describe(&self) -> String {
        let queues = match self.queuing {
            Some((q, h, l)) => format!("{q} queues of {l} requests, handSize {h}"),
            None => "no queues (excess requests are rejected at once)".to_owned(),
        };
        let borrowing = match self.borrowing_limit_percent {
            Some(0) if self.server_before_borrowing => {
                "no borrowing (API servers before Kubernetes 1.26 lend no seats between levels)".to_owned()
            }
            Some(0) => "no borrowing".to_owned(),
            Some(p) => format!("borrowing up to {p}% more"),
            None => "borrowing not limited (no borrowingLimitPercent)".to_owned(),
        };
        let shares = match self.zero_shares_read_as {
            Some(what) => {
                format!("{} concurrency shares (the API server reads {what} as its default 30)", self.shares)
            }
            None => format!("{} concurrency shares", self.shares),
        };
        format!("{shares}, {queues}, {borrowing}")
    }
}

/// A `PriorityLevelConfiguration`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriorityLevel {
    /// `metadata.name`.
    pub name: String,
    /// `apiVersion` (`flowcontrol.apiserver.k8s.io/v1`; empty when absent).
    pub api_version: String,
    /// `spec.type` is `Exempt`: its requests are never queued or rejected.
    pub exempt: bool,
    /// The limits of a `Limited` level (`None` for an exempt one).
    pub limits: Option<Limits>,
    /// Its label `app.kubernetes.io/managed-by` is `apiserver-doctor` (see
    /// [`made_by_apiserver_doctor`]).
    pub by_apiserver_doctor: bool,
    /// The file it came from.
    pub file: String,
    /// The line its object starts at.
    pub line: usize,
}

/// Reads a FlowSchema object; `Err` names the field.
pub fn parse_flow_schema(v: &Value, file: &str, line: usize) -> Result<FlowSchema, String> {
    let name = metadata_name(v)?;
    let spec = v.get("spec").ok_or("spec: missing")?;
    let matching_precedence = match spec.get("matchingPrecedence") {
        // 0 is the API server's default too: `SetDefaults_FlowSchemaSpec` makes 0 1000 before
        // validation (review s45 item 9: the FlowSchema was refused).
        None | Some(Value::Null) => 1000,
        Some(p) if p.as_u64() == Some(0) => 1000,
        // The API server takes 1 to 10000 (review s40: -5 was "not a whole number").
        Some(p) => {
            p.as_u64().and_then(|n| u32::try_from(n).ok()).filter(|n| (1..=10_000).contains(n)).ok_or_else(
                || format!("spec.matchingPrecedence: expected a whole number from 1 to 10000, got {p}"),
            )?
        }
    };
    let priority_level = spec
        .pointer("/priorityLevelConfiguration/name")
        .and_then(Value::as_str)
        .ok_or("spec.priorityLevelConfiguration.name: missing")?
        .to_owned();
    let mut rules = Vec::new();
    match spec.get("rules") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for (i, r) in items.iter().enumerate() {
                rules.push(parse_rule(r).map_err(|e| format!("spec.rules[{i}].{e}"))?);
            }
        }
        Some(other) => return Err(format!("spec.rules: expected a list, got {}", kind_of(other))),
    }
    Ok(FlowSchema {
        name,
        matching_precedence,
        priority_level,
        rules,
        by_apiserver_doctor: made_by_apiserver_doctor(v),
        file: file.to_owned(),
        line,
    })
}

/// Whether the object `v` carries the label apiserver-doctor writes on the objects of a
/// throttle (`app.kubernetes.io/managed-by: apiserver-doctor`): `throttle` may then replace it
/// (an earlier throttle of the same name); any other object of that name is the cluster's own.
pub fn made_by_apiserver_doctor(v: &Value) -> bool {
    v.pointer("/metadata/labels/app.kubernetes.io~1managed-by").and_then(Value::as_str)
        == Some("apiserver-doctor")
}

fn parse_rule(r: &Value) -> Result<FlowRule, String> {
    let mut out = FlowRule::default();
    match r.get("subjects") {
        None | Some(Value::Null) => {}
        Some(Value::Array(subjects)) => {
            for (i, s) in subjects.iter().enumerate() {
                let at = |f: &str| format!("subjects[{i}].{f}");
                let field = |path: &str| s.pointer(path).and_then(Value::as_str).map(str::to_owned);
                let subject = match s.get("kind").and_then(Value::as_str) {
                    Some("User") => {
                        FlowSubject::User(field("/user/name").ok_or_else(|| at("user.name: missing"))?)
                    }
                    Some("Group") => {
                        FlowSubject::Group(field("/group/name").ok_or_else(|| at("group.name: missing"))?)
                    }
                    Some("ServiceAccount") => FlowSubject::ServiceAccount {
                        namespace: field("/serviceAccount/namespace")
                            .ok_or_else(|| at("serviceAccount.namespace: missing"))?,
                        name: field("/serviceAccount/name")
                            .ok_or_else(|| at("serviceAccount.name: missing"))?,
                    },
                    Some(other) => {
                        return Err(at(&format!("kind: {other:?} is not User, Group or ServiceAccount")));
                    }
                    None => return Err(at("kind: missing")),
                };
                out.subjects.push(subject);
            }
        }
        Some(other) => return Err(format!("subjects: expected a list, got {}", kind_of(other))),
    }
    if let Some(Value::Array(rrs)) = r.get("resourceRules") {
        for (i, rr) in rrs.iter().enumerate() {
            let list = |field: &str| -> Result<Vec<String>, String> {
                match rr.get(field) {
                    None | Some(Value::Null) => Ok(Vec::new()),
                    Some(Value::Array(items)) => items
                        .iter()
                        .map(|v| {
                            v.as_str().map(str::to_owned).ok_or_else(|| {
                                format!("resourceRules[{i}].{field}: expected strings, got {}", kind_of(v))
                            })
                        })
                        .collect(),
                    Some(other) => {
                        Err(format!("resourceRules[{i}].{field}: expected a list, got {}", kind_of(other)))
                    }
                }
            };
            let rule = ResourceRule {
                verbs: list("verbs")?,
                api_groups: list("apiGroups")?,
                resources: list("resources")?,
                cluster_scope: rr.get("clusterScope").and_then(Value::as_bool).unwrap_or(false),
                namespaces: list("namespaces")?,
            };
            out.resource_rules.push(rule);
        }
    }
    out.non_resource = matches!(r.get("nonResourceRules"), Some(Value::Array(a)) if !a.is_empty());
    if let Some(Value::Array(nrs)) = r.get("nonResourceRules") {
        for nr in nrs {
            if let Some(Value::Array(urls)) = nr.get("nonResourceURLs") {
                out.non_resource_urls.extend(urls.iter().filter_map(Value::as_str).map(str::to_owned));
            }
        }
    }
    Ok(out)
}

/// Reads a PriorityLevelConfiguration object; `Err` names the field.
pub fn parse_priority_level(v: &Value, file: &str, line: usize) -> Result<PriorityLevel, String> {
    let name = metadata_name(v)?;
    let exempt = match v.pointer("/spec/type") {
        Some(Value::String(t)) if t == "Exempt" => true,
        Some(Value::String(t)) if t == "Limited" => false,
        Some(other) => return Err(format!("spec.type: expected Exempt or Limited, got {other}")),
        None => return Err("spec.type: missing".to_owned()),
    };
    // The API server's validation: "type must be 'Exempt' if and only if name is 'exempt'". An
    // Exempt level of another name never exists in a cluster (review s45 item 8: it was read,
    // and the FlowSchemas sending to it reported by APF002 as exempting their clients).
    if exempt != (name == "exempt") {
        return Err(if exempt {
            "spec.type: Exempt, but only the priority level named `exempt` may be of type Exempt (the API server \
             refuses it: \"type must be 'Exempt' if and only if name is 'exempt'\"); make it Limited, or send its \
             FlowSchemas to `exempt`"
                .to_owned()
        } else {
            "spec.type: Limited, but the priority level named `exempt` must be of type Exempt (the API server \
             refuses it: \"type must be 'Exempt' if and only if name is 'exempt'\")"
                .to_owned()
        });
    }
    let api = v.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    if !exempt {
        check_limited_numbers(v.pointer("/spec/limited"))?;
    }
    let limits = (!exempt).then(|| {
        let limited = v.pointer("/spec/limited");
        let num = |path: &str| {
            limited.and_then(|l| l.pointer(path)).and_then(Value::as_u64).and_then(|n| u32::try_from(n).ok())
        };
        let queuing = match limited.and_then(|l| l.pointer("/limitResponse/type")).and_then(Value::as_str) {
            Some("Reject") => None,
            // Queue is the default response; queuing's fields default to 64, 8, 50, when absent
            // or 0 (`SetDefaults_QueuingConfiguration`, every version; review s45 item 9: 0
            // was read as 0 places, which made any level "as tight").
            _ => {
                let or = |path: &str, default: u32| num(path).filter(|n| *n != 0).unwrap_or(default);
                Some((
                    or("/limitResponse/queuing/queues", 64),
                    or("/limitResponse/queuing/handSize", 8),
                    or("/limitResponse/queuing/queueLengthLimit", 50),
                ))
            }
        };
        let (shares, zero_shares_read_as) = shares_of(v, api, &num);
        Limits {
            shares,
            zero_shares_read_as,
            lendable_percent: num("/lendablePercent").unwrap_or(0),
            // Every version: the field when present, else no limit. Whether the API server
            // borrows at all (1.26 and later) is for the reader to say (`before_borrowing`).
            borrowing_limit_percent: num("/borrowingLimitPercent"),
            server_before_borrowing: false,
            queuing,
        }
    });
    Ok(PriorityLevel {
        name,
        api_version: api.to_owned(),
        exempt,
        limits,
        by_apiserver_doctor: made_by_apiserver_doctor(v),
        file: file.to_owned(),
        line,
    })
}

/// The numbers of `spec.limited` that are given: each a whole number of 0 or more, and
/// `lendablePercent` at most 100, as the API server validates them. Such a level was read with
/// the field as if absent (`nominalConcurrencyShares: -1` as 30, `lendablePercent: 500` as 0),
/// without a word (review s40).
fn check_limited_numbers(limited: Option<&Value>) -> Result<(), String> {
    const FIELDS: &[&str] = &[
        "/nominalConcurrencyShares",
        "/assuredConcurrencyShares",
        "/lendablePercent",
        "/borrowingLimitPercent",
        "/limitResponse/queuing/queues",
        "/limitResponse/queuing/handSize",
        "/limitResponse/queuing/queueLengthLimit",
    ];
    let Some(limited) = limited else { return Ok(()) };
    for path in FIELDS {
        let Some(x) = limited.pointer(path).filter(|x| !x.is_null()) else { continue };
        let field = format!("spec.limited{}", path.replace('/', "."));
        let Some(n) = x.as_u64().and_then(|n| u32::try_from(n).ok()) else {
            return Err(format!(
                "{field}: expected a whole number of 0 or more, got {x} (the API server refuses it)"
            ));
        };
        if *path == "/lendablePercent" && n > 100 {
            return Err(format!(
                "{field}: expected a percentage from 0 to 100, got {n} (the API server refuses it)"
            ));
        }
    }
    Ok(())
}

/// The annotation that keeps an explicit `nominalConcurrencyShares: 0` in flowcontrol v1beta3:
/// only the API server's v1 → v1beta3 conversion adds it (k8s.io/api flowcontrol/v1beta3
/// `PriorityLevelPreserveZeroConcurrencySharesKey`; the API server forbids setting it by hand).
const PRESERVE_ZERO_SHARES: &str = "flowcontrol.k8s.io/v1beta3-preserve-zero-concurrency-shares";

/// A limited level's concurrency shares as the API server defaults them, and, when it reads
/// an explicit 0 as 30, which field of which version said 0.
///
/// - v1: `nominalConcurrencyShares` defaults to 30 only when absent; an explicit 0 is kept
///   (Deprecated API Migration Guide, v1.32: "only defaults to 30 when unspecified, and an
///   explicit value of 0 is not changed to 30").
/// - v1beta3: 0 or absent becomes 30 (its `SetDefaults_PriorityLevelConfiguration`), unless
///   the object carries [`PRESERVE_ZERO_SHARES`].
/// - v1beta1, v1beta2: `assuredConcurrencyShares` "must be a positive number … This field has
///   a default value of 30" (API reference): 0 or absent is 30.
fn shares_of(v: &Value, api: &str, num: &dyn Fn(&str) -> Option<u32>) -> (u32, Option<&'static str>) {
    let version = api.rsplit('/').next().unwrap_or("");
    match version {
        "v1beta1" | "v1beta2" => {
            let field = num("/assuredConcurrencyShares").or_else(|| num("/nominalConcurrencyShares"));
            match field {
                Some(0) if version == "v1beta1" => {
                    (30, Some("assuredConcurrencyShares 0 in flowcontrol v1beta1"))
                }
                Some(0) => (30, Some("assuredConcurrencyShares 0 in flowcontrol v1beta2")),
                Some(n) => (n, None),
                None => (30, None),
            }
        }
        "v1beta3" => {
            let preserved = v
                .pointer("/metadata/annotations")
                .and_then(Value::as_object)
                .is_some_and(|a| a.contains_key(PRESERVE_ZERO_SHARES));
            match num("/nominalConcurrencyShares") {
                Some(0) if !preserved => (30, Some("nominalConcurrencyShares 0 in flowcontrol v1beta3")),
                Some(n) => (n, None),
                None => (30, None),
            }
        }
        // v1, and an object of no known version: the field as written.
        _ => (
            num("/nominalConcurrencyShares").or_else(|| num("/assuredConcurrencyShares")).unwrap_or(30),
            None,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request(user: &str, groups: &[&str], verb: &str, resource: &str, namespace: Option<&str>) -> Request {
        Request {
            user: user.to_owned(),
            groups: groups.iter().map(|g| (*g).to_owned()).collect(),
            verb: verb.to_owned(),
            api_group: String::new(),
            resource: resource.to_owned(),
            namespace: namespace.map(str::to_owned),
        }
    }

    #[test]
    fn requests_are_classified_by_the_first_matching_flow_schema() {
        let text = std::fs::read_to_string(format!(
            "{}/tests/fixtures/apf/k8s-bootstrap-apf-objects_v1.34plus.yaml",
            std::env::var("CARGO_MANIFEST_DIR").unwrap_or(env!("CARGO_MANIFEST_DIR").into())
        ))
        .expect("fixture");
        let mut m = crate::Manifests::default();
        crate::load::parse_text("bootstrap.yaml", &text, &mut m);
        let classify_name =
            |r: &Request| classify(&m.flow_schemas, &m.priority_levels, r).map(|f| f.name.clone());
        let sa_groups =
            ["system:serviceaccounts", "system:serviceaccounts:observability", "system:authenticated"];
        let exporter =
            request("system:serviceaccount:observability:exporter", &sa_groups, "list", "pods", None);
        assert_eq!(classify_name(&exporter).as_deref(), Some("service-accounts"));
        let kube_system_sa = request(
            "system:serviceaccount:kube-system:replicaset-controller",
            &["system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"],
            "create",
            "pods",
            Some("default"),
        );
        assert_eq!(classify_name(&kube_system_sa).as_deref(), Some("kube-system-service-accounts"));
        let admin =
            request("alice", &["system:masters", "system:authenticated"], "delete", "pods", Some("a"));
        assert_eq!(classify_name(&admin).as_deref(), Some("exempt"));
        let node = request(
            "system:node:n1",
            &["system:nodes", "system:authenticated"],
            "update",
            "nodes/status",
            None,
        );
        assert_eq!(classify_name(&node).as_deref(), Some("system-node-high"));
        let user = request("bob", &["system:authenticated"], "list", "pods", Some("x"));
        assert_eq!(classify_name(&user).as_deref(), Some("global-default"));
    }

    #[test]
    fn flow_schemas_read_their_subjects_rules_and_defaults() {
        let v = json!({"metadata": {"name": "fs"}, "spec": {
            "priorityLevelConfiguration": {"name": "pl"},
            "rules": [{"subjects": [
                {"kind": "Group", "group": {"name": "system:authenticated"}},
                {"kind": "ServiceAccount", "serviceAccount": {"namespace": "ns", "name": "*"}},
                {"kind": "User", "user": {"name": "alice"}}
            ], "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["pods", "*"]}],
               "nonResourceRules": [{"verbs": ["get"], "nonResourceURLs": ["/healthz"]}]}]}});
        let fs = parse_flow_schema(&v, "f", 1).expect("valid");
        assert_eq!(fs.matching_precedence, 1000);
        assert_eq!(fs.priority_level, "pl");
        let broad: Vec<bool> = fs.rules[0].subjects.iter().map(FlowSubject::is_broad).collect();
        assert_eq!(broad, vec![true, true, false]);
        assert_eq!(fs.rules[0].resources(), vec!["pods", "*"]);
        assert!(fs.rules[0].non_resource);
        let bad = json!({"metadata": {"name": "fs"}, "spec": {"priorityLevelConfiguration": {"name": "pl"},
            "rules": [{"subjects": [{"kind": "Robot"}]}]}});
        assert_eq!(
            parse_flow_schema(&bad, "f", 1).expect_err("bad"),
            "spec.rules[0].subjects[0].kind: \"Robot\" is not User, Group or ServiceAccount"
        );
        let pl = parse_priority_level(
            &json!({"metadata": {"name": "exempt"}, "spec": {"type": "Exempt"}}),
            "f",
            1,
        );
        assert!(pl.expect("valid").exempt);
        assert!(
            parse_priority_level(&json!({"metadata": {"name": "e"}, "spec": {"type": 3}}), "f", 1).is_err()
        );
    }
}
