//! Remedies shared by the metrics and etcd checks: etcd space, compaction, defragmentation.

use findings::{Remedy, RemedyKind, Safety};

use super::{format_bytes, remedy};
use findings::text::shell_quote;

/// What the tool knows about reaching etcd, for the commands it prints: the endpoints and TLS
/// files the user gave, and the members with the leader. Unknown (the default, as from
/// scrapes alone), the commands start with placeholders to fill in, as valid shell.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EtcdAccess {
    /// Client URLs of the members that answered, as given; empty when unknown.
    pub endpoints: Vec<String>,
    /// `--cacert`, `--cert` and `--key` as given (only those given are printed).
    pub cacert: Option<String>,
    /// Client certificate.
    pub cert: Option<String>,
    /// Client key.
    pub key: Option<String>,
    /// The members' client URLs with whether each is the leader, when their status was read.
    pub members: Vec<(String, bool)>,
    /// The etcd user NAME given with `--user` (never its password): every command then passes
    /// it, and etcdctl asks for the password, or reads it from `ETCDCTL_PASSWORD`.
    pub user: Option<String>,
    /// The `--prefix` given to `apiserver-doctor etcd`, when not the default `/registry`: the
    /// scan a remedy prints keeps it.
    pub prefix: Option<String>,
}

/// The placeholders' preamble: what to fill in when the tool did not read the endpoints.
const FILL_IN: &str = "# Fill in first: a member's client URL, and the TLS flags (TLS='' for plain http;\n\
# the paths below are kubeadm's):\n\
ENDPOINT=https://ETCD-MEMBER:2379\n\
TLS='--cacert=/etc/kubernetes/pki/etcd/ca.crt --cert=/etc/kubernetes/pki/apiserver-etcd-client.crt --key=/etc/kubernetes/pki/apiserver-etcd-client.key'\n";

impl EtcdAccess {
    /// True when the endpoints are known (a live read), so no placeholder is needed.
    pub fn known(&self) -> bool {
        !self.endpoints.is_empty()
    }

    /// ` --cacert=… --cert=… --key=…` for the files given, shell-quoted; `$TLS` when unknown.
    fn tls(&self) -> String {
        if !self.known() {
            return " $TLS".to_owned();
        }
        [("cacert", &self.cacert), ("cert", &self.cert), ("key", &self.key)]
            .iter()
            .filter_map(|(flag, file)| file.as_ref().map(|f| format!(" --{flag}={}", shell_quote(f))))
            .collect()
    }

    /// ` --user=NAME` when a user was given (etcdctl then asks for the password, or reads
    /// `ETCDCTL_PASSWORD`), else nothing.
    fn user_flag(&self) -> String {
        match &self.user {
            Some(name) if self.known() => format!(" --user={}", shell_quote(name)),
            _ => String::new(),
        }
    }

    /// `etcdctl --endpoints=… [TLS flags] [--user=NAME]` for every endpoint.
    pub fn etcdctl(&self) -> String {
        if self.known() {
            format!(
                "etcdctl --endpoints={}{}{}",
                self.endpoints.iter().map(|e| shell_quote(e)).collect::<Vec<_>>().join(","),
                self.tls(),
                self.user_flag()
            )
        } else {
            format!("etcdctl --endpoints=\"$ENDPOINT\"{}", self.tls())
        }
    }

    /// What a command block starts with: the placeholders to fill in, or, with a user given,
    /// how the commands get its password; else nothing.
    pub fn preamble(&self) -> String {
        if !self.known() {
            return FILL_IN.to_owned();
        }
        self.password_note()
    }

    /// With a user given: etcdctl asks for its password at each command unless
    /// `ETCDCTL_PASSWORD` holds it (`apiserver-doctor etcd --user NAME` only reads it there).
    fn password_note(&self) -> String {
        match &self.user {
            Some(name) if self.known() => format!(
                "# The commands pass --user={} (never the password): etcdctl asks for it at each command, or\n\
# reads ETCDCTL_PASSWORD (apiserver-doctor etcd --user NAME only reads it there). To type it once:\n\
#   read -rs ETCDCTL_PASSWORD && export ETCDCTL_PASSWORD\n",
                findings::text::one_line(&shell_quote(name))
            ),
            _ => String::new(),
        }
    }

    /// The members to defragment, followers first and the leader last, and a comment saying
    /// what is known about them.
    fn defrag_order(&self) -> (Vec<String>, String) {
        if !self.known() {
            return (
                vec!["$MEMBERS".to_owned()],
                "# Fill in every member's client URL, followers first and the leader last\n\
# (`etcdctl endpoint status --cluster -w table` shows IS LEADER), and TLS as above.\n\
MEMBERS='https://ETCD-MEMBER-1:2379 https://ETCD-MEMBER-2:2379 https://ETCD-MEMBER-3:2379'\n"
                    .to_owned(),
            );
        }
        let members: Vec<(String, bool)> = if self.members.is_empty() {
            self.endpoints.iter().map(|e| (e.clone(), false)).collect()
        } else {
            self.members.clone()
        };
        let leader = members.iter().find(|(_, l)| *l).map(|(e, _)| e.clone());
        let mut order: Vec<String> = members.iter().filter(|(_, l)| !l).map(|(e, _)| e.clone()).collect();
        order.extend(leader.clone());
        order.dedup();
        let note = match leader {
            Some(l) => format!(
                "# The members that answered, followers first, the leader ({}) last; `etcdctl member list`\n\
# shows whether the cluster has others.\n",
                findings::text::one_line(&l)
            ),
            None => "# The members that answered; none said it is the leader: check with\n\
# `etcdctl endpoint status --cluster -w table` and move the leader last.\n"
                .to_owned(),
        };
        (order.iter().map(|e| shell_quote(e)).collect(), note)
    }

    /// The defragmentation loop, member by member.
    /// `with_tls`: start with the TLS placeholder when unknown (not when a preamble set it).
    fn defrag_loop(&self, with_tls: bool) -> String {
        let (order, note) = self.defrag_order();
        let tls = format!("{}{}", self.tls(), self.user_flag());
        let fill_in = match FILL_IN.split_once("\nTLS=") {
            Some((_, line)) if with_tls && !self.known() => {
                format!(
                    "# Fill in the TLS flags (TLS='' for plain http; the paths below are kubeadm's):\nTLS={line}"
                )
            }
            _ => String::new(),
        };
        format!(
            "{fill_in}{note}for ep in {}; do\n  etcdctl --endpoints=\"$ep\"{tls} defrag --command-timeout=120s\n  etcdctl --endpoints=\"$ep\"{tls} endpoint health || break\ndone",
            order.join(" ")
        )
    }
}

/// The shell variables a command remedy uses (`$NAME`, `${NAME}`) before it sets them
/// (`NAME=…`, `for NAME in`, `read NAME`), in the order first used: pasted as printed, each one
/// expands to nothing (review 50: ETC005's `--cacert=$CA --cert=$CERT --key=$KEY` and MET004's
/// `curl … $CA`). The shell's own `HOME`, `PATH`, `PWD` and `USER` count as set; what is quoted
/// with `'…'` (an awk program, a jsonpath) and comments are not read.
pub fn unset_shell_variables(script: &str) -> Vec<String> {
    let mut set: Vec<String> = ["HOME", "PATH", "PWD", "USER"].map(str::to_owned).to_vec();
    let mut unset: Vec<String> = Vec::new();
    let name_at = |chars: &[char], i: usize| -> Option<String> {
        let first = *chars.get(i)?;
        (first.is_ascii_alphabetic() || first == '_')
            .then(|| chars[i..].iter().take_while(|c| c.is_ascii_alphanumeric() || **c == '_').collect())
    };
    for line in script.lines() {
        let chars: Vec<char> = line.chars().collect();
        let (mut single, mut double) = (false, false);
        // The words after `for` or `read` that name what they set.
        let mut setting = false;
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            let word_start =
                i == 0 || chars[i - 1].is_whitespace() || matches!(chars[i - 1], ';' | '(' | '&' | '|');
            if single {
                single = c != '\'';
            } else if c == '\\' {
                i += 1;
            } else if c == '\'' && !double {
                single = true;
            } else if c == '"' {
                double = !double;
            } else if c == '#' && !double && word_start {
                break;
            } else if matches!(c, ';' | '|' | '&') && !double {
                setting = false;
            } else if c == '$' {
                let braced = chars.get(i + 1) == Some(&'{');
                if let Some(name) = name_at(&chars, i + 1 + usize::from(braced)) {
                    if !set.contains(&name) && !unset.contains(&name) {
                        unset.push(name.clone());
                    }
                    i += name.len();
                }
            } else if !double
                && word_start
                && let Some(name) = name_at(&chars, i)
            {
                let after = chars.get(i + name.len());
                // `NAME=…`, or the name after `for` or `read`.
                if after == Some(&'=') || (setting && after.is_none_or(|c| c.is_whitespace() || *c == ';')) {
                    set.push(name.clone());
                }
                setting = match name.as_str() {
                    "for" | "read" => true,
                    "in" | "do" => false,
                    _ => setting,
                };
                i += name.len();
                continue;
            }
            i += 1;
        }
    }
    unset
}

/// How to see what takes space in etcd.
pub fn find_what_takes_space() -> Remedy {
    find_what_takes_space_for(&EtcdAccess::default())
}

/// `apiserver-doctor etcd` with the endpoints and TLS flags known, else the [`FILL_IN`]
/// placeholders, and `extra` flags after them.
fn doctor_etcd(access: &EtcdAccess, extra: &str) -> String {
    if access.known() {
        let tls: String = [("cacert", &access.cacert), ("cert", &access.cert), ("key", &access.key)]
            .iter()
            .filter_map(|(flag, file)| file.as_ref().map(|f| format!(" --{flag} {}", shell_quote(f))))
            .collect();
        // `--user NAME` without the password: apiserver-doctor reads it from ETCDCTL_PASSWORD
        // (it does not ask), as the preamble says.
        let user = access.user.as_ref().map(|u| format!(" --user {}", shell_quote(u))).unwrap_or_default();
        // The prefix given, unless the command reads no key.
        let prefix = match &access.prefix {
            Some(p) if !extra.contains("--no-keys") => format!(" --prefix {}", shell_quote(p)),
            _ => String::new(),
        };
        format!(
            "{}apiserver-doctor etcd --endpoints {}{tls}{user}{prefix} {extra}",
            access.password_note(),
            access.endpoints.iter().map(|e| shell_quote(e)).collect::<Vec<_>>().join(",")
        )
    } else {
        format!("{FILL_IN}apiserver-doctor etcd --endpoints \"$ENDPOINT\" $TLS {extra}")
    }
}

/// [`find_what_takes_space`] with the endpoints and TLS files known. Review 50, item 3: it was
/// marked safe, and scanned every key and value of an etcd the finding calls full or slow (gigabytes
/// from a member at 82% of its quota): now it reads the keys only (`--no-values`), and is marked
/// review first, as MET002's LIST of every object is.
pub fn find_what_takes_space_for(access: &EtcdAccess) -> Remedy {
    let command = doctor_etcd(access, "--no-values");
    remedy(
        "See which resources and namespaces hold the most keys (it reads every key: once, off-peak)",
        RemedyKind::Command,
        Safety::ReviewFirst,
        format!(
            "# It reads every key under /registry (not the values, --no-values): on a member near its quota or with a\n\
# slow disk that is load, so run it once, off-peak. --no-keys reads only status, alarms and metrics.\n{command}"
        ),
    )
}

/// How to see what takes the space in etcd, for the findings about its size (ETC001, ETC007):
/// the scan with the value sizes, whose resources, namespaces and "Largest objects" show the
/// bytes. etcd review item 4: [`find_what_takes_space_for`] reads keys only (`--no-values`), so
/// every resource showed `value bytes -` and no largest object, and 25 leases of 1 MB holding
/// 37% of the quota looked like nothing beside 5,000 small events. It reads every value once:
/// marked review first, with half the default requests in flight (`--parallel 2`).
pub fn find_what_takes_space_by_size_for(access: &EtcdAccess) -> Remedy {
    let command = doctor_etcd(access, "--parallel 2");
    remedy(
        "See which resources, namespaces and objects take the most space (it reads every key and value: once, off-peak)",
        RemedyKind::Command,
        Safety::ReviewFirst,
        format!(
            "# It reads every key and value under the prefix, with 2 requests in flight: on a member near its quota or\n\
# with a slow disk that is load, so run it once, off-peak. Its \"value bytes\" columns and \"Largest objects\"\n\
# show what takes the space (--no-values would count keys only).\n{command}"
        ),
    )
}

/// Compact to the current revision, wait until the old revisions are removed, then defragment
/// member by member: what gives back the space old revisions of changed and deleted keys take
/// (etcd review item 3: ETC001 told to delete objects when 36 MiB of 52 MiB in use was history).
pub fn compact_then_defragment_for(access: &EtcdAccess) -> Remedy {
    let etcdctl = access.etcdctl();
    remedy(
        "Compact the old revisions, then defragment one member at a time (it blocks that member)",
        RemedyKind::Command,
        Safety::ReviewFirst,
        format!(
            "{}# 1. Compact to the current revision; --physical waits until the old revisions are removed\n\
#    (a defrag before that gives back nothing). kube-apiserver compacts every 5 min\n\
#    (--etcd-compaction-interval): history piling up says it does not, see why.\n\
rev=$({etcdctl} endpoint status --write-out=json | grep -o '\"revision\":[0-9]*' | head -1 | cut -d: -f2)\n\
{etcdctl} compact --physical \"$rev\"\n\
# 2. Defragment each member in turn: it blocks all reads and writes on that member while it\n\
#    runs; followers first, the leader last, each one healthy before the next.\n{}",
            access.preamble(),
            access.defrag_loop(false)
        ),
    )
}

/// Look at etcd's disk latency, database size and leader: the members' status, alarms and
/// metrics, without reading a key (`--no-keys`). Review 50, item 3: MET011's command, marked
/// safe, scanned every key and value of the etcd whose disk it calls slow, and used `$CA`,
/// `$CERT`, `$KEY` and `$ENDPOINT` without saying what they are.
pub fn look_at_etcd() -> Remedy {
    remedy(
        "Look at etcd's disk, size and leader",
        RemedyKind::Command,
        Safety::Safe,
        doctor_etcd(&EtcdAccess::default(), "--no-keys"),
    )
}

/// Read etcd's real quota when the scrapes did not give it (MET004): the `quota` column of
/// `apiserver-doctor etcd`'s members, from etcd's own metrics, or etcd's command line. Review
/// 50: it was `curl … --cacert $CA --cert $CERT --key $KEY https://$ENDPOINT/metrics`, none of
/// them set; it now starts with the [`FILL_IN`] placeholders, as [`look_at_etcd`] does.
pub fn read_the_quota() -> Remedy {
    remedy(
        "Read the real quota",
        RemedyKind::Command,
        Safety::Safe,
        format!(
            "# Self-managed etcd: the quota column of the members' table, from etcd's own metrics\n\
# (--no-keys: status, alarms and metrics only, no key is read).\n{}\n\
# Or, on an etcd host, its command line (or the --config-file it names):\n\
ps -o args= -C etcd | tr ' ' '\\n' | grep quota-backend-bytes\n\
# With a scrape of etcd's /metrics (etcd.prom), judge both together: apiserver-doctor metrics apiserver.prom etcd.prom",
            doctor_etcd(&EtcdAccess::default(), "--no-keys")
        ),
    )
}

/// Read the compaction state, then compact to the current revision.
pub fn compact() -> Remedy {
    compact_for(&EtcdAccess::default())
}

/// [`compact`] with the endpoints and TLS files known.
pub fn compact_for(access: &EtcdAccess) -> Remedy {
    let etcdctl = access.etcdctl();
    remedy(
        "Check the compaction state, then compact old revisions",
        RemedyKind::Command,
        Safety::ReviewFirst,
        format!(
            "{}# kube-apiserver compacts every 5 min (--etcd-compaction-interval); if it does not, compact by hand:\n\
{etcdctl} endpoint status --write-out=table\n\
rev=$({etcdctl} endpoint status --write-out=json | grep -o '\"revision\":[0-9]*' | head -1 | cut -d: -f2)\n\
{etcdctl} compact \"$rev\"",
            access.preamble()
        ),
    )
}

/// Defragment member by member.
pub fn defragment() -> Remedy {
    defragment_for(&EtcdAccess::default())
}

/// [`defragment`] over the known members, followers first and the leader last.
pub fn defragment_for(access: &EtcdAccess) -> Remedy {
    remedy(
        "Defragment, one member at a time (it blocks that member)",
        RemedyKind::Command,
        Safety::ReviewFirst,
        format!(
            "# WARNING: defragmentation blocks all reads and writes on the member while it runs\n\
# (seconds to minutes for a large database). Do one member at a time, followers first,\n\
# the leader last, and check the member is healthy before the next one.\n\
# Never pass several endpoints, nor --cluster, to one defrag.\n{}{}",
            access.password_note(),
            access.defrag_loop(true)
        ),
    )
}

/// `etcdctl check perf`: a 60 s write load test, to run off-peak or on a test member.
pub fn check_perf_for(access: &EtcdAccess) -> Remedy {
    remedy(
        "Measure the disk with etcd's own load test (it writes: off-peak or on a test member)",
        RemedyKind::Command,
        Safety::ReviewFirst,
        format!(
            "# WARNING: `check perf` is a 60-second write load test, not a read. It writes its own keys\n\
# under /etcdctl-check-perf/ (it needs write access), adds revisions and space to the database,\n\
# and loads a disk these findings already call too slow. Run it off-peak, or better on a test\n\
# member with the same disk; not on a database near its quota.\n\
{}{} check perf",
            access.preamble(),
            access.etcdctl()
        ),
    )
}

/// The name of the ResourceQuota that caps objects of `resource` in `api_group` (`""`: the core
/// group): `pods-count`, `jobs.batch-count`, `events.events.k8s.io-count`. Every object-count
/// quota is named by it: MET002's here, AUD008's (checks) and `apiserver-doctor quota`'s, which
/// depend on this crate (the remedy crate, which writes the last two, cannot be depended on from
/// here). Review 50, item 4: the name left out the group, so `events` and
/// `events.events.k8s.io` were both `events-count` and applying the second quota dropped the
/// first one's cap; and AUD008 (`jobs-count`) and MET002 (`object-count-jobs`) proposed two
/// quotas for one `count/jobs.batch`. A resource has no `.`, so the first one ends it and no two
/// keys share a name. A resource or group that is not a name Kubernetes accepts (they come from
/// audit logs and metric labels), or a name past 253 characters, gives a label that ends in a
/// hash of the whole key instead.
pub fn object_count_quota_name(resource: &str, api_group: &str) -> String {
    let qualified =
        if api_group.is_empty() { resource.to_owned() } else { format!("{resource}.{api_group}") };
    let name = format!("{qualified}-count");
    if is_dns_label(resource)
        && (api_group.is_empty() || api_group.split('.').all(is_dns_label))
        && name.len() <= 253
    {
        return name;
    }
    // FNV-1a, 32 bits, as the remedy crate's object names: stable across runs and versions.
    let hash = qualified.bytes().fold(0x811c_9dc5_u32, |h, b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193));
    let mut head = String::new();
    for c in qualified.chars().map(|c| c.to_ascii_lowercase()) {
        if head.len() >= 50 {
            break;
        }
        if c.is_ascii_alphanumeric() {
            head.push(c);
        } else if !head.is_empty() && !head.ends_with('-') {
            head.push('-');
        }
    }
    let head = head.trim_end_matches('-');
    if head.is_empty() { format!("objects-{hash:08x}-count") } else { format!("{head}-{hash:08x}-count") }
}

/// Whether `s` is a DNS-1123 label: 1 to 63 lower case letters, digits and `-`, beginning and
/// ending with a letter or digit.
fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.ends_with(|c: char| c.is_ascii_alphanumeric())
}

/// etcd's suggested maximum quota (8 GiB): its docs advise against going above it.
pub const SUGGESTED_MAX_QUOTA_BYTES: f64 = 8.0 * 1024.0 * 1024.0 * 1024.0;

/// Raise the quota, where the platform allows it; when it is already at or above etcd's
/// suggested maximum, free space instead (restarting every member to set the value it already
/// has changes nothing).
pub fn raise_quota(quota_bytes: f64) -> Remedy {
    if quota_bytes >= SUGGESTED_MAX_QUOTA_BYTES {
        let at_or_above = if quota_bytes > SUGGESTED_MAX_QUOTA_BYTES { "above" } else { "at" };
        return remedy(
            "Free space: the quota is already at etcd's suggested maximum",
            RemedyKind::Advice,
            Safety::ReviewFirst,
            format!(
                "The quota is {}, already {at_or_above} etcd's suggested maximum of 8 GiB (`--quota-backend-bytes=8589934592`): raising it is not the way out. Free space instead: delete what leaks (see the object counts), compact old revisions, then defragment each member, as the remedies above show. On a managed control plane (AKS, EKS, GKE), open a support request if the database still nears the quota after that.",
                format_bytes(quota_bytes)
            ),
        );
    }
    remedy(
        "Raise the quota where the platform allows it",
        RemedyKind::Advice,
        Safety::ReviewFirst,
        format!(
            "The quota is {}. On a self-managed cluster set `--quota-backend-bytes` on every etcd member (etcd suggests at most 8 GiB: `--quota-backend-bytes=8589934592`) and restart the members one at a time. Managed control planes (AKS, EKS, GKE) do not expose it: clean up objects instead, and open a support request if the database still nears the quota. A larger quota only buys time if something leaks.",
            format_bytes(quota_bytes)
        ),
    )
}

/// [`raise_quota`] for a quota that is known (`assumed` is `None`), or for one assumed in its
/// place (`assumed` names it: "etcd's default", "the quota set by --config"), which the remedy
/// then names as an assumption.
pub fn raise_quota_or_assumed(quota_bytes: f64, assumed: Option<&str>) -> Remedy {
    let Some(assumed) = assumed else { return raise_quota(quota_bytes) };
    remedy(
        "Raise the quota where the platform allows it",
        RemedyKind::Advice,
        Safety::ReviewFirst,
        format!(
            "The quota was not in the scrapes; {} is {assumed}, assumed. Read the real one first (etcd's `etcd_server_quota_backend_bytes`, or `--quota-backend-bytes` on its command line). On a self-managed cluster set `--quota-backend-bytes` on every etcd member (etcd suggests at most 8 GiB: `--quota-backend-bytes=8589934592`) and restart the members one at a time. Managed control planes (AKS, EKS, GKE) do not expose it: clean up objects instead, and open a support request if the database still nears the quota. A larger quota only buys time if something leaks.",
            format_bytes(quota_bytes)
        ),
    )
}

/// See whether etcd raised a `NOSPACE` alarm (a database at its quota refuses every write),
/// for a database whose size alone cannot tell (MET004 at the assumed default quota).
pub fn check_alarms() -> Remedy {
    let access = EtcdAccess::default();
    remedy(
        "See whether etcd refuses writes (a NOSPACE alarm)",
        RemedyKind::Command,
        Safety::Safe,
        format!(
            "{}{} alarm list\n# `alarm:NOSPACE` there: etcd refuses every write until it is recovered (next remedy).",
            access.preamble(),
            access.etcdctl()
        ),
    )
}

/// The sequence after a `NOSPACE` alarm: compact, wait, defragment, disarm.
pub fn recover_from_nospace() -> Remedy {
    recover_from_nospace_for(&EtcdAccess::default())
}

/// [`recover_from_nospace`] with the endpoints, TLS files and members known.
pub fn recover_from_nospace_for(access: &EtcdAccess) -> Remedy {
    let etcdctl = access.etcdctl();
    remedy(
        "Recover from NOSPACE: compact, wait, defragment, disarm",
        RemedyKind::Command,
        Safety::ReviewFirst,
        format!(
            "# Reads and deletes still work; writes fail until the alarm is disarmed.\n\
{}# 1. Delete what leaks first (see the object counts), then compact to the current revision;\n\
#    --physical waits until the old revisions are removed (a defrag before that can grow the file):\n\
rev=$({etcdctl} endpoint status --write-out=json | grep -o '\"revision\":[0-9]*' | head -1 | cut -d: -f2)\n\
{etcdctl} compact --physical \"$rev\"\n\
# 2. Defragment each member in turn (blocks that member while it runs), the leader last:\n\
{}\n\
# 3. Check the size is below the quota, then disarm the alarm:\n\
{etcdctl} endpoint status --write-out=table\n\
{etcdctl} alarm disarm\n\
{etcdctl} alarm list",
            access.preamble(),
            access.defrag_loop(false)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live(tls: bool) -> EtcdAccess {
        EtcdAccess {
            endpoints: vec!["http://127.0.0.1:23791".into(), "http://127.0.0.1:23792".into()],
            cacert: tls.then(|| "pki/ca.crt".into()),
            cert: tls.then(|| "pki/client.crt".into()),
            key: tls.then(|| "pki/my key.pem".into()),
            members: vec![("http://127.0.0.1:23791".into(), true), ("http://127.0.0.1:23792".into(), false)],
            ..Default::default()
        }
    }

    /// etcd review item 9: `--cacert=$CA --cert=$CERT --key=$KEY` failed as printed against a
    /// plain-http member (`empty string is passed to --cert option`), and the defrag loop named
    /// hosts that do not exist although the tool had just read the members and the leader.
    #[test]
    fn remedies_use_the_given_endpoints_tls_files_and_members_leader_last() {
        let all = |a: &EtcdAccess| {
            [
                find_what_takes_space_for(a),
                compact_for(a),
                defragment_for(a),
                recover_from_nospace_for(a),
                check_perf_for(a),
            ]
            .map(|r| r.body)
            .join("\n")
        };
        let plain = all(&live(false));
        for placeholder in
            ["$CA", "$CERT", "$KEY", "$ENDPOINT", "$TLS", "--cacert", "--cert", "--key", "member-1"]
        {
            assert!(!plain.contains(placeholder), "{placeholder} in:\n{plain}");
        }
        assert!(
            plain.contains(
                "etcdctl --endpoints=http://127.0.0.1:23791,http://127.0.0.1:23792 endpoint status"
            ),
            "{plain}"
        );
        assert!(
            plain.contains("for ep in http://127.0.0.1:23792 http://127.0.0.1:23791; do"),
            "follower first, leader last:\n{plain}"
        );
        let tls = all(&live(true));
        assert!(
            tls.contains("--cacert=pki/ca.crt --cert=pki/client.crt --key='pki/my key.pem' compact"),
            "{tls}"
        );
        assert!(tls.contains("apiserver-doctor etcd --endpoints http://127.0.0.1:23791,http://127.0.0.1:23792 --cacert pki/ca.crt"), "{tls}");
        // Unknown (scrapes alone): placeholders, set before they are used, never `--cert=` empty.
        let unknown = all(&EtcdAccess::default());
        assert!(unknown.contains("ENDPOINT=https://ETCD-MEMBER:2379"), "{unknown}");
        assert!(unknown.contains("etcdctl --endpoints=\"$ENDPOINT\" $TLS endpoint status"), "{unknown}");
        assert!(!unknown.contains("$CA") && !unknown.contains("$CERT"), "{unknown}");
        assert!(unknown.contains("for ep in $MEMBERS; do"), "{unknown}");
    }

    /// etcd review item 2: with `--user root:pw` the remedies left the user out, and pasted they
    /// failed ("user name is empty"), the NOSPACE recovery in the middle of its steps.
    #[test]
    fn remedies_carry_the_user_name_never_the_password() {
        let access = EtcdAccess { user: Some("root".into()), ..live(true) };
        for r in [
            find_what_takes_space_for(&access),
            find_what_takes_space_by_size_for(&access),
            compact_for(&access),
            compact_then_defragment_for(&access),
            defragment_for(&access),
            recover_from_nospace_for(&access),
            check_perf_for(&access),
        ] {
            let commands: Vec<&str> = r.body.lines().filter(|l| !l.trim_start().starts_with('#')).collect();
            for line in commands.iter().filter(|l| l.contains("etcdctl ")) {
                assert!(line.contains(" --user=root "), "{}: {line}", r.title);
            }
            for line in commands.iter().filter(|l| l.starts_with("apiserver-doctor etcd")) {
                assert!(line.contains(" --user root "), "{}: {line}", r.title);
            }
            assert!(r.body.contains("ETCDCTL_PASSWORD"), "{}:\n{}", r.title, r.body);
            assert_eq!(unset_shell_variables(&r.body), Vec::<String>::new(), "{}:\n{}", r.title, r.body);
        }
        let nospace = recover_from_nospace_for(&access).body;
        assert!(nospace.contains("--user=root alarm disarm"), "{nospace}");
        assert!(nospace.contains("--user=root defrag --command-timeout=120s"), "{nospace}");
        // No user given: no --user, no note.
        let plain = recover_from_nospace_for(&live(false)).body;
        assert!(!plain.contains("--user") && !plain.contains("ETCDCTL_PASSWORD"), "{plain}");
    }

    /// etcd review item 4: "delete what takes the space (the first remedy lists it)" pointed at
    /// a `--no-values` scan, which shows no value bytes and no largest objects; and it dropped
    /// a `--prefix` given.
    #[test]
    fn the_what_takes_the_space_remedy_reads_the_values_and_keeps_the_prefix() {
        let access = EtcdAccess { prefix: Some("/registry/configmaps".into()), ..live(false) };
        let r = find_what_takes_space_by_size_for(&access);
        assert_eq!(r.safety, Safety::ReviewFirst);
        let command = r.body.lines().last().unwrap_or_default();
        assert_eq!(
            command,
            "apiserver-doctor etcd --endpoints http://127.0.0.1:23791,http://127.0.0.1:23792 --prefix /registry/configmaps --parallel 2"
        );
        assert!(r.body.contains("Largest objects") && r.body.contains("off-peak"), "{}", r.body);
        let unknown = find_what_takes_space_by_size_for(&EtcdAccess::default()).body;
        assert!(
            unknown.ends_with("apiserver-doctor etcd --endpoints \"$ENDPOINT\" $TLS --parallel 2"),
            "{unknown}"
        );
        // --no-keys reads no key: no prefix.
        assert!(!doctor_etcd(&access, "--no-keys").contains("--prefix"));
    }

    /// Review 50, item 3: ETC001's and MET004's scan, marked safe, read every key and value of an
    /// etcd the finding calls full; MET011's, marked safe too, of one whose disk it calls slow, with
    /// `$CA`, `$CERT`, `$KEY` and `$ENDPOINT` set nowhere (clap then read `--cacert` as the
    /// endpoints' value).
    #[test]
    fn etcd_commands_marked_safe_read_no_value_of_a_full_or_slow_etcd() {
        for access in [live(true), EtcdAccess::default()] {
            let space = find_what_takes_space_for(&access);
            assert_eq!(space.safety, Safety::ReviewFirst);
            assert!(space.body.contains("off-peak"), "{}", space.body);
            let command = space.body.lines().last().unwrap_or_default();
            assert!(command.starts_with("apiserver-doctor etcd --endpoints "), "{command}");
            assert!(command.ends_with(" --no-values"), "{command}");
        }
        let look = look_at_etcd();
        assert_eq!(look.safety, Safety::Safe);
        assert!(
            look.body.ends_with("apiserver-doctor etcd --endpoints \"$ENDPOINT\" $TLS --no-keys"),
            "{}",
            look.body
        );
        // Every variable it uses is set before, as in the other etcd remedies.
        assert!(look.body.contains("\nENDPOINT=https://ETCD-MEMBER:2379\nTLS='--cacert="), "{}", look.body);
        for unset in ["$CA", "$CERT", "$KEY"] {
            assert!(!look.body.contains(unset), "{unset} in {}", look.body);
        }
    }

    /// Review 50: ETC005's `etcdctl --endpoints=$ENDPOINTS --cacert=$CA …` and MET004's
    /// `curl -s --cacert $CA …` used variables set nowhere; the scan finds them, and passes what
    /// a remedy sets first, loops over, quotes with `'…'` or comments.
    #[test]
    fn unset_shell_variables_are_found_and_set_ones_pass() {
        assert_eq!(
            unset_shell_variables(
                "etcdctl --endpoints=$ENDPOINTS --cacert=$CA --cert=$CERT --key=$KEY endpoint health"
            ),
            ["ENDPOINTS", "CA", "CERT", "KEY"]
        );
        assert_eq!(
            unset_shell_variables("curl -s --cacert \"${CA}\" https://$ENDPOINT/metrics"),
            ["CA", "ENDPOINT"]
        );
        let set = "# $NOT_READ in a comment\nENDPOINT=https://x:2379\nexport TLS='--cacert=$CA'\n\
                   rev=$(etcdctl --endpoints=\"$ENDPOINT\" $TLS endpoint status | awk '{print $NF}')\n\
                   for ep in $ENDPOINT; do echo \"$ep\" \"$rev\" \"$HOME\" $? $1; done\n\
                   kubectl get pods | while read -r name rest; do echo $name $rest; done";
        assert_eq!(unset_shell_variables(set), Vec::<String>::new());
        // Set after it is used is unset where it is used.
        assert_eq!(unset_shell_variables("echo $X\nX=1"), ["X"]);
    }

    /// Review 50: every etcd remedy here, with the endpoints known or not, sets each variable it
    /// uses (the checks' own remedies are scanned in their tests and in the checks crate's
    /// `remedies` test).
    #[test]
    fn shared_etcd_remedies_use_no_unset_variable() {
        for access in [live(true), live(false), EtcdAccess::default()] {
            for r in [
                find_what_takes_space_for(&access),
                compact_for(&access),
                defragment_for(&access),
                recover_from_nospace_for(&access),
                check_perf_for(&access),
                look_at_etcd(),
                read_the_quota(),
            ] {
                assert_eq!(unset_shell_variables(&r.body), Vec::<String>::new(), "{}:\n{}", r.title, r.body);
            }
        }
    }

    /// Review 50, item 4: `events` and `events.events.k8s.io` were both `events-count`, `pods` and
    /// `pods.metrics.k8s.io` both `pods-count`, and AUD008 and MET002 named their quotas of one
    /// `count/jobs.batch` `jobs-count` and `object-count-jobs`.
    #[test]
    fn object_count_quota_names_hold_the_api_group() {
        let names = [
            object_count_quota_name("events", ""),
            object_count_quota_name("events", "events.k8s.io"),
            object_count_quota_name("pods", ""),
            object_count_quota_name("pods", "metrics.k8s.io"),
            object_count_quota_name("jobs", "batch"),
            object_count_quota_name("jobs", "example.com"),
            object_count_quota_name("jobs-batch", ""),
            // Names Kubernetes refuses end in a hash of the whole key.
            object_count_quota_name("Jobs", "batch"),
            object_count_quota_name("jobs", "Batch"),
            object_count_quota_name("管理者", ""),
            object_count_quota_name(&"r".repeat(300), ""),
        ];
        let distinct: std::collections::BTreeSet<&String> = names.iter().collect();
        assert_eq!(distinct.len(), names.len(), "{names:?}");
        assert_eq!(
            names[..7],
            [
                "events-count",
                "events.events.k8s.io-count",
                "pods-count",
                "pods.metrics.k8s.io-count",
                "jobs.batch-count",
                "jobs.example.com-count",
                "jobs-batch-count"
            ]
        );
        for n in &names {
            let label = |p: &str| {
                !p.is_empty()
                    && p.bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
                    && !p.starts_with('-')
                    && !p.ends_with('-')
            };
            assert!(n.len() <= 253 && n.split('.').all(label), "{n}");
        }
        assert_eq!(object_count_quota_name("Jobs", "batch"), names[7]);
    }
}
