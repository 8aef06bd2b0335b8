//! etcd through its v3 JSON gateway: status, alarms, key statistics per Kubernetes resource,
//! and the etcd checks (codes `ETC…`).
//!
//! Read-only by construction: the client only issues `/v3/kv/range` with `keys_only` or
//! `limit`, `/v3/maintenance/status`, `/v3/maintenance/alarm` with `action: GET` and
//! `/v3/cluster/member/list`, plus `GET /metrics`. Nothing here can write to etcd.
//!
//! The pipeline: [`client::Client`] talks to one member; [`collect`] gathers every member's
//! status, alarms, metrics and one scan of the keys into an [`EtcdEvidence`];
//! [`checks::run`] turns it into findings. [`EtcdEvidence::from_metrics`] builds the same
//! evidence from etcd `/metrics` scrapes alone (`apiserver-doctor metrics etcd.prom`).

use serde::Serialize;

pub mod checks;
pub mod client;
pub mod keys;
pub mod overlap;
pub mod render;
pub mod report;

pub use client::{Client, ClientError, Credentials, ScanOptions, TlsFiles};
pub use keys::{KeyLayout, KeyStats, parse_key};
use metrics::EtcdMetrics;

/// One member's `/v3/maintenance/status` answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MemberStatus {
    /// The endpoint it was read from.
    pub endpoint: String,
    /// Member id, hexadecimal as etcdctl prints it.
    pub id: String,
    /// Member name from the member list, when known.
    pub name: Option<String>,
    /// etcd server version.
    pub version: String,
    /// Physically allocated database size (`dbSize`).
    pub db_size: u64,
    /// Logically used size (`dbSizeInUse`, etcd 3.4+).
    pub db_size_in_use: Option<u64>,
    /// The leader's member id, hexadecimal (`0` when there is none).
    pub leader: String,
    /// True when this member is the leader.
    pub is_leader: bool,
    /// Raft term.
    pub raft_term: u64,
    /// Raft index.
    pub raft_index: u64,
    /// Raft applied index (3.4+).
    pub raft_applied_index: Option<u64>,
    /// Errors the member reports about itself (3.4+).
    pub errors: Vec<String>,
}

/// An alarm raised on a member.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Alarm {
    /// Member id, hexadecimal.
    pub member_id: String,
    /// `NOSPACE` or `CORRUPT`.
    pub alarm: String,
}

/// One member as the checks see it: its status (live) and/or its metrics.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Member {
    /// The endpoint, or the scrape's source name.
    pub name: String,
    /// `/v3/maintenance/status`, when read live.
    pub status: Option<MemberStatus>,
    /// `/metrics`, when available.
    pub metrics: Option<EtcdMetrics>,
}

impl Member {
    /// Physically allocated database size: the status' when live, else the metric.
    pub fn db_total_bytes(&self) -> Option<f64> {
        self.status.as_ref().map(|s| s.db_size as f64).or_else(|| self.metrics.as_ref()?.db_total_bytes)
    }

    /// Logically used size.
    pub fn db_in_use_bytes(&self) -> Option<f64> {
        self.status
            .as_ref()
            .and_then(|s| s.db_size_in_use.map(|v| v as f64))
            .or_else(|| self.metrics.as_ref()?.db_in_use_bytes)
    }

    /// The quota, when the member's metrics give it.
    pub fn quota_bytes(&self) -> Option<f64> {
        self.metrics.as_ref()?.quota_bytes
    }

    /// Where its numbers come from, for findings.
    pub fn source(&self) -> String {
        match (&self.status, &self.metrics) {
            (Some(s), _) => format!("etcd:{}", s.endpoint),
            (None, Some(m)) => format!("metrics:{}", m.source),
            (None, None) => format!("etcd:{}", self.name),
        }
    }
}

/// Everything the etcd checks read.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct EtcdEvidence {
    /// The members.
    pub members: Vec<Member>,
    /// Alarms raised on any member.
    pub alarms: Vec<Alarm>,
    /// The alarm list could not be read (it goes through raft: it fails without a leader), so
    /// an empty `alarms` says nothing.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub alarms_unread: bool,
    /// No endpoint given answered (each one's error is in `collection_errors`): etcd is down or
    /// cut off from here, and nothing else of it could be read.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub none_answered: bool,
    /// Key statistics from one scan, when the keys were read.
    pub keys: Option<KeyStats>,
    /// Problems met while collecting (a member that did not answer, a call that failed, errors
    /// a member reports about itself, a key scan cut short), reported as findings about the
    /// evidence.
    pub collection_errors: Vec<String>,
    /// How the evidence was read, where it matters for reading it: members probed from the
    /// member list, a key scan started again after a compaction.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// The endpoints, TLS files, user name and prefix the user gave (`None`: not known, as for
    /// scrapes), for the commands the remedies print; the endpoints and the leader come from
    /// [`EtcdEvidence::members`] when one answered, else the endpoints given are used.
    #[serde(skip)]
    pub tls_given: Option<metrics::checks::remedies::EtcdAccess>,
}

impl EtcdEvidence {
    /// Evidence from etcd `/metrics` only (the etcd members found by
    /// [`metrics::MetricsEvidence::from_snapshots`]).
    pub fn from_metrics(etcd: &[EtcdMetrics]) -> EtcdEvidence {
        // Two scrapes are named `first → last`: the member is named after the last.
        let last = |m: &EtcdMetrics| m.source.rsplit(" → ").next().unwrap_or(&m.source).to_owned();
        // A member is named by its scrape's file name (`etcd-2.prom`), not the path it was
        // given by (`/dev/shm/demo/cluster/metrics/etcd-2.prom` in every title), unless two
        // scrapes share a file name: then by their paths, to keep them apart.
        let file_name = |path: &str| path.rsplit(['/', '\\']).next().unwrap_or(path).to_owned();
        let paths: Vec<String> = etcd.iter().map(last).collect();
        let unique = {
            let mut names: Vec<String> = paths.iter().map(|p| file_name(p)).collect();
            names.sort();
            names.windows(2).all(|w| w[0] != w[1])
        };
        EtcdEvidence {
            members: etcd
                .iter()
                .zip(paths)
                .map(|(m, path)| {
                    let file = if unique { file_name(&path) } else { path };
                    // With the member's id when the scrape gives it: the id is what `etcdctl
                    // member list` shows, the file only where the scrape was saved (docs review
                    // 27 §8: "etcd member etcd-3.5.9.prom holds …").
                    let name = match &m.member_id {
                        Some(id) => format!("{id} ({file})"),
                        None => file,
                    };
                    Member { name, status: None, metrics: Some(m.clone()) }
                })
                .collect(),
            ..EtcdEvidence::default()
        }
    }
}

/// How to reach the cluster and what to read.
#[derive(Debug, Clone)]
pub struct CollectOptions {
    /// Client URLs of the members, e.g. `https://10.0.0.5:2379`.
    pub endpoints: Vec<String>,
    /// CA bundle, client certificate and key.
    pub tls: TlsFiles,
    /// The etcd user to authenticate as, when its authentication is enabled.
    pub user: Option<Credentials>,
    /// Key prefix to scan (`/registry`); `None` skips the scan.
    pub prefix: Option<String>,
    /// Keys per range request while scanning.
    pub page_size: u64,
    /// Range requests in flight at once while scanning.
    pub parallel: usize,
    /// Read value sizes while scanning; false reads keys only (counts, no bytes).
    pub values: bool,
    /// How many of the largest objects to keep.
    pub largest: usize,
    /// Request timeout in seconds.
    pub timeout_seconds: u64,
}

impl Default for CollectOptions {
    fn default() -> Self {
        CollectOptions {
            endpoints: Vec::new(),
            tls: TlsFiles::default(),
            user: None,
            prefix: Some("/registry".to_owned()),
            page_size: client::DEFAULT_PAGE_SIZE,
            parallel: client::DEFAULT_PARALLEL,
            values: true,
            largest: 10,
            timeout_seconds: 30,
        }
    }
}

/// What a member's status `errors` mean, for the ones that have a plain explanation.
fn status_error_hint(error: &str) -> &'static str {
    if error.contains("no leader") {
        ": the cluster has no leader: it lost quorum (a majority of its members is down or cut off) \
         and accepts no writes; bring the other members back (see which in the member list)"
    } else if error.contains("NOSPACE") {
        ": the database reached its quota; etcd accepts only reads and deletes"
    } else if error.contains("CORRUPT") {
        ": etcd found its data inconsistent between members"
    } else {
        ""
    }
}

/// The endpoint as given, for comparing with the member list's client URLs.
fn normalized(url: &str) -> String {
    url.trim_end_matches('/').to_ascii_lowercase()
}

/// Reads status, alarms and `/metrics` from every endpoint, the status of the other members
/// of the member list, and scans the keys once through the first endpoint that answers.
///
/// A member that does not answer, an alarm list that cannot be read (it goes through raft:
/// it fails without quorum), errors a member reports in its status ("etcdserver: no leader")
/// and a key scan that fails (etcd's authentication, a compaction repeated past
/// [`client::MAX_SCAN_RESTARTS`] restarts) are recorded in
/// [`EtcdEvidence::collection_errors`] and the rest is kept. When no endpoint answers, the
/// evidence says so ([`EtcdEvidence::none_answered`], reported as a critical ETC010): etcd being
/// down is what the user came to find, not an error of the run (docs review 27 §2: `diagnose
/// --etcd` stopped with exit 2 and no report of the audit log it had read). It is an error when
/// no endpoint is given, an endpoint or TLS file is unusable, or no endpoint works and one of
/// them answered, but not as etcd should (not an etcd gateway, a wrong password, a failed TLS
/// handshake): those are the options to fix.
pub fn collect(options: &CollectOptions) -> Result<EtcdEvidence, ClientError> {
    let new_client = |endpoint: &str| {
        Client::new(endpoint, &options.tls, options.timeout_seconds)
            .map(|c| c.with_user(options.user.clone()))
    };
    let path = |p: &Option<std::path::PathBuf>| p.as_ref().map(|p| p.display().to_string());
    let mut evidence = EtcdEvidence {
        // What the remedies' commands reach etcd with: the endpoints as given (those that
        // answered replace them), the TLS files, the user's name (never its password) and a
        // prefix other than the default.
        tls_given: Some(metrics::checks::remedies::EtcdAccess {
            endpoints: options.endpoints.clone(),
            cacert: path(&options.tls.cacert),
            cert: path(&options.tls.cert),
            key: path(&options.tls.key),
            members: Vec::new(),
            user: options.user.as_ref().map(|u| u.name.clone()),
            prefix: options.prefix.clone().filter(|p| p != keys::DEFAULT_ROOT),
        }),
        ..EtcdEvidence::default()
    };
    let mut listed: Option<Vec<client::ListedMember>> = None;
    let mut reachable: Option<Client> = None;
    if options.endpoints.is_empty() {
        return Err(ClientError::NoEndpoint);
    }
    // The first error of an endpoint that answered, but not as etcd should (not an etcd gateway,
    // a wrong password, a TLS failure): a mistake of the options when no endpoint works.
    let mut refused: Option<ClientError> = None;
    for endpoint in &options.endpoints {
        let client = new_client(endpoint)?;
        let status = match client.status() {
            Ok(s) => s,
            Err(e) => {
                evidence.collection_errors.push(e.to_string());
                if !matches!(e, ClientError::Unreachable { .. }) && refused.is_none() {
                    refused = Some(e);
                }
                continue;
            }
        };
        for error in status.errors.iter().filter(|e| !is_alarm_echo(e)) {
            evidence.collection_errors.push(format!(
                "{}/v3/maintenance/status: the member reports \"{error}\"{}",
                client.endpoint(),
                status_error_hint(error)
            ));
        }
        if listed.is_none() {
            match client.members() {
                Ok(m) => listed = Some(m),
                Err(e) => evidence.collection_errors.push(e.to_string()),
            }
        }
        let metrics = match client.metrics() {
            Ok(snapshot) => {
                let window = metrics::Window::single(&snapshot);
                Some(metrics::etcd_metrics::evidence(&window))
            }
            Err(e) => {
                evidence.collection_errors.push(e.to_string());
                None
            }
        };
        evidence.members.push(Member { name: endpoint.clone(), status: Some(status), metrics });
        if reachable.is_none() {
            reachable = Some(client);
        }
    }
    let Some(client) = reachable else {
        if let Some(e) = refused {
            return Err(e);
        }
        evidence.none_answered = true;
        // Nothing was asked, so an empty list would read as "no alarms" (QA, session 40).
        evidence.alarms_unread = true;
        return Ok(evidence);
    };
    let listed = listed.unwrap_or_default();
    mark_non_members(&listed, options, &mut evidence);
    probe_unlisted(&listed, options, &new_client, &mut evidence);
    let names: std::collections::BTreeMap<&str, &str> =
        listed.iter().map(|m| (m.id.as_str(), m.name.as_str())).collect();
    for m in &mut evidence.members {
        if let Some(s) = m.status.as_mut() {
            s.name = names.get(s.id.as_str()).map(|n| (*n).to_owned());
        }
    }
    match client.alarms() {
        Ok(alarms) => evidence.alarms = alarms,
        Err(e) => {
            evidence.alarms_unread = true;
            evidence.collection_errors.push(format!(
            "{e}: the alarms were not read (the alarm list goes through raft: it fails while the cluster has no \
             leader)"
            ));
        }
    }
    if let Some(prefix) = &options.prefix {
        let scan = ScanOptions {
            page_size: options.page_size,
            parallel: options.parallel,
            values: options.values,
            keep_largest: options.largest,
        };
        match client.scan_noting(prefix, &scan, &mut evidence.notes) {
            Ok(keys) => {
                if keys.keys == 0 && !prefix.is_empty() && !prefix.starts_with('/') {
                    evidence.notes.push(no_slash_note(prefix));
                }
                evidence.keys = Some(keys)
            }
            Err(e) => evidence.collection_errors.push(scan_failure(&e, prefix)),
        }
    }
    Ok(evidence)
}

/// What to try when no key is under a `prefix` without a leading `/`: one suggestion when
/// `/{prefix}` is `/registry` itself ("try --prefix /registry, or --prefix /registry" said it
/// twice, review 50 item 6).
fn no_slash_note(prefix: &str) -> String {
    let slashed = format!("/{prefix}");
    let try_ = if slashed.trim_end_matches('/') == keys::DEFAULT_ROOT {
        format!("try --prefix {}", keys::DEFAULT_ROOT)
    } else {
        format!("try --prefix {slashed}, or --prefix {}", keys::DEFAULT_ROOT)
    };
    format!(
        "No key under the prefix `{prefix}`: Kubernetes keys start with `/`, and the API server's default prefix is \
         `{}` ({try_}).",
        keys::DEFAULT_ROOT
    )
}

/// Why the key scan failed and what to do, for the collection errors.
/// Whether a status error only repeats an active alarm (`memberID:… alarm:NOSPACE `, as etcd
/// 3.4 lists each one there): the alarm list reports it already (ETC007).
fn is_alarm_echo(error: &str) -> bool {
    error.trim_start().starts_with("memberID:") && error.contains("alarm:")
}

fn scan_failure(e: &ClientError, prefix: &str) -> String {
    let missing = "the key statistics are missing from this report";
    if e.is_auth_required() {
        format!(
            "{e}: authentication is enabled on this etcd and the key scan needs a user with read access to the keys \
             under {prefix}: pass --user NAME (the password after a colon, NAME:PASSWORD, or in {}), or a client \
             certificate (--cert/--key) whose common name is such a user, or --no-keys to skip the scan; {missing}",
            Credentials::PASSWORD_ENV
        )
    } else if matches!(e, ClientError::Http { message, .. } if message.contains("permission denied")) {
        format!(
            "{e}: the etcd user has no read permission on the keys under {prefix}: use a user (or client \
             certificate) with a role that may read them, or --no-keys; {missing}"
        )
    } else if e.is_compacted() {
        format!(
            "{e}: the key scan was cut short: etcd compacted the revision it read at {} times in a row \
             (kube-apiserver compacts every 5 minutes; the scan started again each time); {missing}: run again, \
             or with --no-values for a faster scan",
            client::MAX_SCAN_RESTARTS + 1
        )
    } else {
        format!("{e}: the key scan was cut short; {missing}")
    }
}

/// What ETC010 reads in a collection error of an endpoint that is not in the member list.
pub(crate) const NOT_A_MEMBER: &str = ": it is not a member of this cluster";

/// Says of each endpoint given that did not answer and is none of the member list's client
/// URLs that it is not a member of this cluster (etcd review item 9: a mistyped endpoint was
/// reported as a member that did not answer, "this member's numbers are missing").
fn mark_non_members(listed: &[client::ListedMember], options: &CollectOptions, evidence: &mut EtcdEvidence) {
    if listed.is_empty() {
        return;
    }
    let urls: Vec<String> = listed.iter().flat_map(|m| m.client_urls.iter().map(|u| normalized(u))).collect();
    let answered: Vec<String> = evidence.members.iter().map(|m| normalized(&m.name)).collect();
    for endpoint in &options.endpoints {
        let e = normalized(endpoint);
        if urls.contains(&e) || answered.contains(&e) {
            continue;
        }
        let head = format!("{}/", endpoint.trim_end_matches('/'));
        for error in evidence.collection_errors.iter_mut().filter(|x| x.starts_with(&head)) {
            error.push_str(&format!(
                "{NOT_A_MEMBER}: none of the member list's client URLs ({}): a mistake in --endpoints, or a name \
                 of a member its --advertise-client-urls do not give",
                listed.iter().flat_map(|m| m.client_urls.iter().cloned()).collect::<Vec<_>>().join(", ")
            ));
        }
    }
}

/// Reads the status of the members of the member list that no given endpoint reached (status
/// only), and says how many were checked: an operator often passes one endpoint, and a member
/// that is down would otherwise go unreported.
fn probe_unlisted(
    listed: &[client::ListedMember],
    options: &CollectOptions,
    new_client: &dyn Fn(&str) -> Result<Client, ClientError>,
    evidence: &mut EtcdEvidence,
) {
    let read: std::collections::BTreeSet<String> =
        evidence.members.iter().filter_map(|m| m.status.as_ref().map(|s| s.id.clone())).collect();
    let given: Vec<String> = options.endpoints.iter().map(|e| normalized(e)).collect();
    let mut probed = Vec::new();
    for m in listed {
        let tried = m.client_urls.iter().any(|u| given.contains(&normalized(u)));
        if read.contains(&m.id) || tried {
            continue;
        }
        let label = if m.name.is_empty() {
            format!("member {}", m.id)
        } else {
            format!("member {} ({})", m.name, m.id)
        };
        if m.client_urls.is_empty() {
            evidence.collection_errors.push(format!(
                "{label}: in the member list without a client URL (not started yet, or being added): not checked"
            ));
            continue;
        }
        let mut error = None;
        for url in &m.client_urls {
            match new_client(url).and_then(|c| c.status()) {
                Ok(status) => {
                    for e in status.errors.iter().filter(|e| !is_alarm_echo(e)) {
                        evidence.collection_errors.push(format!(
                            "{}/v3/maintenance/status: the member reports \"{e}\"{}",
                            url.trim_end_matches('/'),
                            status_error_hint(e)
                        ));
                    }
                    evidence.members.push(Member { name: url.clone(), status: Some(status), metrics: None });
                    error = None;
                    break;
                }
                Err(e) => error = Some(e),
            }
        }
        if let Some(e) = error {
            evidence
                .collection_errors
                .push(format!("{e} ({label}, from the member list; its URL was not given with --endpoints)"));
        }
        probed.push(label);
    }
    if !probed.is_empty() {
        evidence.notes.push(format!(
            "{} members in the member list, {} given with --endpoints; the others were checked through the \
             client URLs the member list gives (status only, no /metrics): {}.",
            listed.len(),
            options.endpoints.len(),
            probed.join(", ")
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// etcd review items 2 and 8: the remedies' commands left out the user given, and with no
    /// member answering used placeholders; collection keeps the endpoints, TLS files, prefix and
    /// user NAME given, never the password.
    #[test]
    fn collection_keeps_the_user_name_never_the_password_and_the_endpoints_given() {
        let options = CollectOptions {
            // Port 1 on the loopback: nothing listens, so nothing answers, at once.
            endpoints: vec!["http://127.0.0.1:1".into()],
            user: Some(Credentials { name: "root".into(), password: "s3cret-pw".into() }),
            prefix: Some("/registry/pods".into()),
            timeout_seconds: 2,
            ..CollectOptions::default()
        };
        let evidence = collect(&options).expect("nothing answering is evidence, not an error");
        assert!(evidence.none_answered);
        let given = evidence.tls_given.clone().expect("what was given");
        assert_eq!(given.endpoints, ["http://127.0.0.1:1"]);
        assert_eq!(given.user.as_deref(), Some("root"));
        assert_eq!(given.prefix.as_deref(), Some("/registry/pods"));
        assert!(!format!("{given:?}").contains("s3cret-pw"));
        let default_prefix = CollectOptions { prefix: Some(keys::DEFAULT_ROOT.into()), ..options };
        let given = collect(&default_prefix).expect("evidence").tls_given.expect("what was given");
        assert_eq!(given.prefix, None);
    }

    /// etcd review item 9: an endpoint not in the member list (a typo) was reported as a dead
    /// member.
    #[test]
    fn an_endpoint_not_in_the_member_list_is_not_a_member_of_this_cluster() {
        let listed = vec![client::ListedMember {
            id: "8e9e05c52164694d".into(),
            name: "r1".into(),
            client_urls: vec!["http://127.0.0.1:23790".into()],
        }];
        let options = CollectOptions {
            endpoints: vec!["http://127.0.0.1:23790".into(), "http://127.0.0.1:23799".into()],
            ..CollectOptions::default()
        };
        let mut evidence = EtcdEvidence {
            members: vec![Member { name: "http://127.0.0.1:23790".into(), status: None, metrics: None }],
            collection_errors: vec![
                "http://127.0.0.1:23799/v3/maintenance/status: connection refused: nothing listens there"
                    .into(),
            ],
            ..EtcdEvidence::default()
        };
        mark_non_members(&listed, &options, &mut evidence);
        assert!(
            evidence.collection_errors[0].contains(&format!(
                "{NOT_A_MEMBER}: none of the member list's client URLs (http://127.0.0.1:23790)"
            )),
            "{:?}",
            evidence.collection_errors
        );
        // A listed member that does not answer stays a member that did not answer.
        let mut evidence = EtcdEvidence {
            collection_errors: vec![
                "http://127.0.0.1:23790/v3/maintenance/status: connection refused".into(),
            ],
            ..EtcdEvidence::default()
        };
        mark_non_members(&listed, &options, &mut evidence);
        assert!(!evidence.collection_errors[0].contains(NOT_A_MEMBER), "{:?}", evidence.collection_errors);
    }

    /// Review 50, item 6: `--prefix registry` was told "try --prefix /registry, or --prefix
    /// /registry".
    #[test]
    fn the_prefix_hint_repeated_itself_for_registry() {
        let note = no_slash_note("registry");
        assert!(note.ends_with("(try --prefix /registry)."), "{note}");
        let note = no_slash_note("registry/pods");
        assert!(note.ends_with("(try --prefix /registry/pods, or --prefix /registry)."), "{note}");
    }
    use crate::checks::test_support::metrics;

    /// Regression review s20 N3: etcd 3.4 repeats each active alarm among its status errors
    /// (`memberID:… alarm:NOSPACE `), which gave a second warning beside ETC007's.
    #[test]
    fn status_errors_that_repeat_an_alarm_are_left_to_the_alarm_list() {
        assert!(is_alarm_echo("memberID:3536866665172684883 alarm:NOSPACE "));
        assert!(!is_alarm_echo("etcdserver: no leader"));
    }

    /// Review of issue 5: etcd findings named a member by the whole path its scrape was given
    /// by ("etcd member /dev/shm/demo/cluster/metrics/etcd-2.prom holds …").
    #[test]
    fn members_of_scrapes_are_named_by_file_name_unless_two_share_one() {
        let scrape = |source: &str| EtcdMetrics { source: source.into(), ..metrics() };
        let names = |e: EtcdEvidence| e.members.into_iter().map(|m| m.name).collect::<Vec<_>>();
        let e = EtcdEvidence::from_metrics(&[
            scrape("/dev/shm/demo/cluster/metrics/etcd-0.prom"),
            scrape("before/etcd-1.prom → /dev/shm/demo/cluster/metrics/etcd-1.prom"),
        ]);
        assert_eq!(names(e), ["etcd-0.prom", "etcd-1.prom"]);
        let e = EtcdEvidence::from_metrics(&[scrape("a/etcd-0.prom"), scrape("b/etcd-0.prom")]);
        assert_eq!(names(e), ["a/etcd-0.prom", "b/etcd-0.prom"]);
        // Docs review 27 (§8): the member's id, when the scrape names it, comes first.
        let with_id =
            EtcdMetrics { member_id: Some("aec36adc501070cc".into()), ..scrape("/tmp/etcd-3.5.9.prom") };
        assert_eq!(names(EtcdEvidence::from_metrics(&[with_id])), ["aec36adc501070cc (etcd-3.5.9.prom)"]);
    }
}
