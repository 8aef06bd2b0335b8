//! Remedies shared by the metrics and etcd checks: etcd space, compaction, defragmentation.

use findings::{Remedy, RemedyKind, Safety};

use super::{format_bytes, remedy};

/// Placeholder the user replaces with their etcd endpoints and TLS flags.
const ETCDCTL: &str = "etcdctl --endpoints=$ENDPOINT --cacert=$CA --cert=$CERT --key=$KEY";

/// How to see what takes space in etcd.
pub fn find_what_takes_space() -> Remedy {
    remedy(
        "See which resources and namespaces take the space",
        RemedyKind::Command,
        Safety::Safe,
        "apiserver-doctor etcd --endpoints $ENDPOINT --cacert $CA --cert $CERT --key $KEY",
    )
}

/// Read the compaction state, then compact to the current revision.
pub fn compact() -> Remedy {
    remedy(
        "Check the compaction state, then compact old revisions",
        RemedyKind::Command,
        Safety::ReviewFirst,
        format!(
            "# kube-apiserver compacts every 5 min (--etcd-compaction-interval); if it does not, compact by hand:\n\
{ETCDCTL} endpoint status --write-out=table\n\
rev=$({ETCDCTL} endpoint status --write-out=json | grep -o '\"revision\":[0-9]*' | head -1 | cut -d: -f2)\n\
{ETCDCTL} compact \"$rev\""
        ),
    )
}

/// Defragment member by member.
pub fn defragment() -> Remedy {
    remedy(
        "Defragment, one member at a time (it blocks that member)",
        RemedyKind::Command,
        Safety::ReviewFirst,
        r#"# WARNING: defragmentation blocks all reads and writes on the member while it runs
# (seconds to minutes for a large database). Do one member at a time, followers first,
# the leader last, and check the member is healthy before the next one.
# Never pass several endpoints, nor --cluster, to one defrag.
for ep in https://member-1:2379 https://member-2:2379 https://member-3:2379; do
  etcdctl --endpoints=$ep --cacert=$CA --cert=$CERT --key=$KEY defrag --command-timeout=120s
  etcdctl --endpoints=$ep --cacert=$CA --cert=$CERT --key=$KEY endpoint health || break
done"#,
    )
}

/// Raise the quota, where the platform allows it.
pub fn raise_quota(quota_bytes: f64) -> Remedy {
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

/// [`raise_quota`] for a quota that is known (`known`), or for etcd's default assumed in its
/// place, which the remedy then names as an assumption.
pub fn raise_quota_or_assumed(quota_bytes: f64, known: bool) -> Remedy {
    if known {
        return raise_quota(quota_bytes);
    }
    remedy(
        "Raise the quota where the platform allows it",
        RemedyKind::Advice,
        Safety::ReviewFirst,
        format!(
            "The quota was not in the scrapes; {} is etcd's default, assumed. Read the real one first (etcd's `etcd_server_quota_backend_bytes`, or `--quota-backend-bytes` on its command line). On a self-managed cluster set `--quota-backend-bytes` on every etcd member (etcd suggests at most 8 GiB: `--quota-backend-bytes=8589934592`) and restart the members one at a time. Managed control planes (AKS, EKS, GKE) do not expose it: clean up objects instead, and open a support request if the database still nears the quota. A larger quota only buys time if something leaks.",
            format_bytes(quota_bytes)
        ),
    )
}

/// The sequence after a `NOSPACE` alarm: compact, wait, defragment, disarm.
pub fn recover_from_nospace() -> Remedy {
    remedy(
        "Recover from NOSPACE: compact, wait, defragment, disarm",
        RemedyKind::Command,
        Safety::ReviewFirst,
        format!(
            "# Reads and deletes still work; writes fail until the alarm is disarmed.\n\
# 1. Delete what leaks first (see the object counts), then compact to the current revision:\n\
rev=$({ETCDCTL} endpoint status --write-out=json | grep -o '\"revision\":[0-9]*' | head -1 | cut -d: -f2)\n\
{ETCDCTL} compact \"$rev\"\n\
# 2. Wait until compaction has finished (a defrag before it ends can grow the file):\n\
sleep 60\n\
# 3. Defragment each member in turn (blocks that member while it runs):\n\
etcdctl --endpoints=https://member-1:2379 --cacert=$CA --cert=$CERT --key=$KEY defrag --command-timeout=120s\n\
# … repeat for every member, the leader last.\n\
# 4. Check the size is below the quota, then disarm the alarm:\n\
{ETCDCTL} endpoint status --write-out=table\n\
{ETCDCTL} alarm disarm\n\
{ETCDCTL} alarm list"
        ),
    )
}
