//! MET004 etcd-db-size: the etcd database size the API server reports, against the quota.

use findings::{
    CheckInfo, EvidenceKind, Finding, Measure, Severity, Subject, Thresholds, threshold_names as n,
};

use super::{Draft, format_bytes, format_count, format_percent_against, remedies, watch};
use crate::apiserver::DbSize;
use crate::{ApiserverEvidence, MetricsEvidence};

/// MET004.
pub const INFO: CheckInfo = CheckInfo {
    code: "MET004",
    name: "etcd-db-size",
    default_severity: Severity::Warning,
    evidence: EvidenceKind::ApiserverMetrics,
    thresholds: &[
        n::ETCD_QUOTA_BYTES,
        n::ETCD_QUOTA_CRITICAL_RATIO,
        n::ETCD_QUOTA_WARNING_RATIO,
        n::ETCD_LARGE_BYTES,
    ],
    doc: r#"## What it detects
The etcd database size as the API server reports it (`apiserver_storage_size_bytes` from
1.28, `apiserver_storage_db_total_size_in_bytes` in 1.26–1.27, `etcd_db_total_size_in_bytes`
before) against the etcd quota: at or above 80% is a warning, at or above 95% critical
(etcd-mixin). The quota is etcd's own `etcd_server_quota_backend_bytes` when an etcd scrape
is given too; when the members given have different quotas, or the API server reports more
than one etcd cluster (`--etcd-servers-overrides`), each database is judged against the quota
of the member whose size is nearest (within a factor of 2), and against none of them when no
member is that near. Else the quota is `etcd_quota_bytes` (etcd's default, 2 GiB, or the value
`--config` sets), and the finding then says which was assumed. Above 2 GB and below the warning, it says the database is large (AKS
guide), as information. When etcd's own scrapes are given and ETC001 warns of the same
database member by member, MET004 is information that points at ETC001 (one warning for one
number). The same database: MET004's quota was read from etcd, not assumed, and an ETC001
finding at least as severe has that quota for a database within a factor of 2 of this size. A
database matched to no member (judged against the assumed quota) keeps its severity beside an
ETC001 of another.

The database size of different API server processes is judged once per control plane: at
most one minor version apart, the same etcd storage (see MET002).

With no etcd scrape, a database more than 5% past the 2 GiB default proves the quota is
larger (etcd refuses writes at its quota); API server scrapes alone are the normal case on
AKS, EKS and GKE, whose quotas are commonly 8 GiB. No share of the quota is judged then: the
size is reported as information (large, above 2 GB), with where to read the real quota. At
the default or within 5% past it, the size proves nothing (a member full at its quota shows
about the quota, and its file can sit a little past it): it is critical, possibly full
(NOSPACE) at the default quota, and says to check `etcdctl alarm list`.

## Why it matters
At the quota etcd raises a `NOSPACE` alarm and refuses every write: no pod can be created,
updated or deleted until someone compacts, defragments and disarms the alarm.

## Example
`https://10.0.0.5:2379`: 1.9 GiB of a 2.0 GiB quota (95%): critical.

## Remedy
Find what takes the space (`apiserver-doctor etcd`), delete leaked objects, check
compaction, defragment member by member (it blocks each member while it runs), and raise the
quota where the platform allows it.

## References
- etcd maintenance (space quota, defragmentation): https://etcd.io/docs/v3.5/op-guide/maintenance/
- etcd-mixin alerts: https://github.com/etcd-io/etcd/tree/main/contrib/mixin
- AKS: troubleshoot API server and etcd problems: https://learn.microsoft.com/troubleshoot/azure/azure-kubernetes/create-upgrade-delete/troubleshoot-apiserver-etcd
"#,
};

/// The quota a database is judged against.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Quota {
    /// In bytes.
    pub bytes: f64,
    /// Where it comes from.
    pub from: QuotaFrom,
    /// Whether etcd scrapes gave quotas, none of them this database's (a separate etcd, such
    /// as one for events): the quota is then assumed as without them.
    pub unmatched: bool,
}

/// Where a quota comes from.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum QuotaFrom {
    /// etcd's own `etcd_server_quota_backend_bytes`, the same in every etcd scrape given.
    Etcd,
    /// The quota of this etcd member (its name), whose database size is the nearest: the
    /// members given have different quotas, or the API server reports several etcd clusters.
    Member(String),
    /// `etcd_quota_bytes` set by `--config`, assumed.
    Config,
    /// etcd's default (`etcd_quota_bytes`), assumed.
    Default,
}

impl Quota {
    /// Whether it was read from etcd itself.
    pub fn read_from_etcd(&self) -> bool {
        matches!(self.from, QuotaFrom::Etcd | QuotaFrom::Member(_))
    }

    /// `the assumed 2.0 GiB quota (etcd's default; …)` and the like: how a title names it.
    pub fn assumed_name(&self) -> &'static str {
        if self.from == QuotaFrom::Config { "the quota set by --config" } else { "etcd's default" }
    }
}

/// Whether two database sizes are near enough to be of one etcd cluster's members: within a
/// factor of 2 (members of one cluster differ by what compaction and defragmentation left).
fn near(a: f64, b: f64) -> bool {
    a > 0.0 && b > 0.0 && a.max(b) <= 2.0 * a.min(b)
}

/// The quota `db` (reported by `api`) is judged against: etcd's own, the same in every etcd
/// scrape given; when those differ, or the API server reports several etcd clusters
/// (`--etcd-servers-overrides`, such as a separate etcd for events), the quota of the member
/// whose database size is nearest `db`'s, if near; else `etcd_quota_bytes`, set by --config or
/// etcd's default, assumed. The smallest quota of all was applied to every database (review
/// 50, item 3: "7.0 GiB of a 2.0 GiB quota (350%)" beside ETC001's 88% of the member's 8 GiB).
pub(crate) fn quota(ev: &MetricsEvidence, api: &ApiserverEvidence, db: &DbSize, t: &Thresholds) -> Quota {
    let assumed = |unmatched: bool| Quota {
        bytes: t.value(n::ETCD_QUOTA_BYTES),
        from: if t.get(n::ETCD_QUOTA_BYTES).overridden { QuotaFrom::Config } else { QuotaFrom::Default },
        unmatched,
    };
    let members: Vec<(&crate::EtcdMetrics, f64)> = ev
        .etcd
        .iter()
        .filter_map(|e| e.quota_bytes.filter(|q| q.is_finite() && *q > 0.0).map(|q| (e, q)))
        .collect();
    let Some(&(_, first)) = members.first() else {
        return match ev.etcd_quota_bytes {
            Some(q) if q > 0.0 => Quota { bytes: q, from: QuotaFrom::Etcd, unmatched: false },
            _ => assumed(false),
        };
    };
    let clusters = api.db_size.iter().filter(|d| d.metric == "apiserver_storage_size_bytes").count() > 1;
    if !clusters && members.iter().all(|(_, q)| *q == first) {
        return Quota { bytes: first, from: QuotaFrom::Etcd, unmatched: false };
    }
    let nearest = members
        .iter()
        .filter_map(|(e, q)| {
            e.db_total_bytes.filter(|b| near(*b, db.bytes)).map(|b| (e, *q, (b - db.bytes).abs()))
        })
        .min_by(|a, b| a.2.total_cmp(&b.2));
    match nearest {
        Some((e, q, _)) => {
            let name = match &e.member_id {
                Some(id) => format!("{id} ({})", e.source),
                None => e.source.clone(),
            };
            Quota { bytes: q, from: QuotaFrom::Member(name), unmatched: false }
        }
        None => assumed(true),
    }
}

/// How far past the assumed quota a database must be for the quota to be taken as larger:
/// 5% (2 GiB + 102.4 MiB for the default). A member full at its quota shows about the quota,
/// and its file can sit at or a little past it (deletes, compaction and bbolt's growth of the
/// file are not checked against the quota), so a size just at or past the default does not
/// prove a larger quota (review of the metrics command, item 7: 2,147,483,648 bytes was "the
/// real quota is unknown and larger", information, while 95% of it was critical).
pub const PAST_THE_QUOTA_MARGIN: f64 = 0.05;

/// True when the quota is not known (no etcd scrape gave it) and a database of `bytes` is
/// past the default assumed for it by more than [`PAST_THE_QUOTA_MARGIN`]: etcd refuses writes
/// at its quota, so the real one must be larger, and no ratio or time to quota can be judged
/// against the default.
pub(crate) fn quota_unknown_and_larger(bytes: f64, quota: f64, from_etcd: bool) -> bool {
    !from_etcd && bytes > quota * (1.0 + PAST_THE_QUOTA_MARGIN)
}

/// True when the quota is not known and a database of `bytes` is at the default assumed for
/// it, or past it by at most [`PAST_THE_QUOTA_MARGIN`]: possibly full at that quota.
pub(crate) fn at_the_assumed_quota(bytes: f64, quota: f64, from_etcd: bool) -> bool {
    !from_etcd && bytes >= quota && !quota_unknown_and_larger(bytes, quota, from_etcd)
}

/// Why a quota read from etcd was not taken for this database.
pub(crate) const UNMATCHED: &str = "The etcd scrapes given report quotas of databases whose sizes are far from this \
     one (another etcd cluster, such as a separate one for events), so none of them is taken for it.";

/// Where the quota can be read when the API server's metrics do not give it.
pub(crate) const WHERE_THE_QUOTA_IS: &str = "The API server's metrics do not give etcd's quota: give an etcd \
     scrape too (its `etcd_server_quota_backend_bytes`) or read `--quota-backend-bytes` on etcd's command line. \
     On AKS, EKS and GKE the provider manages etcd and its quota (commonly 8 GiB).";

fn quota_measures(bytes: f64, quota: f64, ratio: f64) -> Vec<Measure> {
    vec![
        Measure::new("database size", bytes, "bytes"),
        Measure::new("quota", quota, "bytes"),
        Measure::new("share of quota", ratio * 100.0, "percent"),
    ]
}

/// Runs MET004.
pub fn run(ev: &MetricsEvidence, t: &Thresholds, out: &mut Vec<Finding>) {
    for api in &ev.apiservers {
        for db in &api.db_size {
            if !db.bytes.is_finite() {
                continue;
            }
            let q = quota(ev, api, db, t);
            let (quota, from_etcd) = (q.bytes, q.read_from_etcd());
            if quota_unknown_and_larger(db.bytes, quota, from_etcd) {
                out.push(unknown_quota(api, db, &q, t));
                continue;
            }
            if at_the_assumed_quota(db.bytes, quota, from_etcd) {
                out.push(possibly_full(api, db, &q, t));
                continue;
            }
            let ratio = db.bytes / quota;
            let (severity, names) = if ratio >= t.value(n::ETCD_QUOTA_CRITICAL_RATIO) {
                (Severity::Critical, vec![n::ETCD_QUOTA_CRITICAL_RATIO])
            } else if ratio >= t.value(n::ETCD_QUOTA_WARNING_RATIO) {
                (Severity::Warning, vec![n::ETCD_QUOTA_WARNING_RATIO])
            } else if db.bytes > t.value(n::ETCD_LARGE_BYTES) {
                // The warning ratio it stays under says why a large database is only info (docs
                // review 27 §5: an override of it changed the severity, and no finding named it).
                (Severity::Info, vec![n::ETCD_LARGE_BYTES, n::ETCD_QUOTA_WARNING_RATIO])
            } else {
                continue;
            };
            let mut names = names;
            let percent = format_percent_against(
                ratio * 100.0,
                &[
                    t.value(n::ETCD_QUOTA_WARNING_RATIO) * 100.0,
                    t.value(n::ETCD_QUOTA_CRITICAL_RATIO) * 100.0,
                ],
            );
            let (title, summary) = match &q.from {
                QuotaFrom::Etcd => (
                    format!(
                        "etcd database is {} of a {} quota ({})",
                        format_bytes(db.bytes),
                        format_bytes(quota),
                        percent
                    ),
                    format!(
                        "`{}` reports {} for {}, {} of the quota etcd reports ({}). At the quota etcd raises NOSPACE \
                         and refuses every write.",
                        db.metric,
                        format_bytes(db.bytes),
                        db.endpoint,
                        percent,
                        format_bytes(quota)
                    ),
                ),
                QuotaFrom::Member(member) => (
                    format!(
                        "etcd database is {} of a {} quota ({}; the quota of etcd member {member})",
                        format_bytes(db.bytes),
                        format_bytes(quota),
                        percent
                    ),
                    format!(
                        "`{}` reports {} for {}, {} of the quota of etcd member {member} ({}), the member whose \
                         database size is nearest this one: the etcd members given have different quotas, or the \
                         API server reports more than one etcd cluster. At the quota etcd raises NOSPACE and refuses \
                         every write.",
                        db.metric,
                        format_bytes(db.bytes),
                        db.endpoint,
                        percent,
                        format_bytes(quota)
                    ),
                ),
                QuotaFrom::Config | QuotaFrom::Default => {
                    names.push(n::ETCD_QUOTA_BYTES);
                    let what = if q.from == QuotaFrom::Config {
                        "the quota set by --config (etcd_quota_bytes)"
                    } else {
                        "etcd's default quota"
                    };
                    let why = if q.unmatched {
                        format!(", assumed. {UNMATCHED}")
                    } else {
                        ", assumed because no etcd scrape gave the real one.".to_owned()
                    };
                    let raised = if q.from == QuotaFrom::Default && !q.unmatched {
                        " A cluster whose quota was raised (8 GiB is common) is further from it."
                    } else {
                        ""
                    };
                    (
                        format!(
                            "etcd database is {} of an assumed {} quota ({}; {}, the real quota is unknown)",
                            format_bytes(db.bytes),
                            format_bytes(quota),
                            percent,
                            q.assumed_name()
                        ),
                        format!(
                            "`{}` reports {} for {}, {} of {}: {what}{why}{raised} {} At the quota etcd raises \
                             NOSPACE and refuses every write.",
                            db.metric,
                            format_bytes(db.bytes),
                            db.endpoint,
                            percent,
                            format_bytes(quota),
                            WHERE_THE_QUOTA_IS
                        ),
                    )
                }
            };
            out.push(
                Draft {
                    severity,
                    title,
                    subject: Subject::new("etcd", db.endpoint.clone()),
                    summary,
                    source: format!("metrics:{}", api.source),
                    measures: quota_measures(db.bytes, quota, ratio),
                    table: None,
                    thresholds: names,
                    remedies: vec![
                        remedies::find_what_takes_space(),
                        remedies::compact(),
                        remedies::defragment(),
                        remedies::raise_quota_or_assumed(quota, (!from_etcd).then(|| q.assumed_name())),
                        watch(&format!("{}{{}} / {quota}", db.metric)),
                    ],
                }
                .into_finding(&INFO, t),
            );
        }
    }
}

/// A database at or past the default quota with no quota known: the quota must be larger,
/// so the size is reported as information, by the absolute size (`etcd_large_bytes`).
fn unknown_quota(api: &ApiserverEvidence, db: &DbSize, q: &Quota, t: &Thresholds) -> Finding {
    let default = q.bytes;
    // `etcd's 2.0 GiB default quota`, or the one --config sets.
    let assumed = if q.from == QuotaFrom::Config {
        format!("the {} quota set by --config", format_bytes(default))
    } else {
        format!("etcd's {} default quota", format_bytes(default))
    };
    let unmatched = if q.unmatched { format!(" {UNMATCHED}") } else { String::new() };
    let growth = match (db.first_bytes, api.window_seconds.filter(|s| *s > 0.0)) {
        (Some(first), Some(seconds)) if db.bytes > first && db.members_may_differ.is_none() => format!(
            " It grew by {} per hour between the two scrapes; with the quota unknown, no time to reach it is given.",
            format_bytes((db.bytes - first) / seconds * 3600.0)
        ),
        _ => String::new(),
    };
    let mut measures = vec![Measure::new("database size", db.bytes, "bytes")];
    let name = if q.from == QuotaFrom::Config { "the quota set by --config" } else { "etcd's default quota" };
    measures.push(Measure::new(format!("{name} (the real quota is larger)"), default, "bytes"));
    Draft {
        severity: Severity::Info,
        title: format!(
            "etcd database is {}, past {assumed}: the real quota is unknown and larger",
            format_bytes(db.bytes),
        ),
        subject: Subject::new("etcd", db.endpoint.clone()),
        summary: format!(
            "`{}` reports {} for {}. etcd refuses writes at its quota, so this database's quota must be larger than \
             {}, and its share of the quota cannot be judged.{unmatched} {} Above {} a database is large: \
             defragmentation and snapshots take longer.{growth}",
            db.metric,
            format_bytes(db.bytes),
            db.endpoint,
            if q.from == QuotaFrom::Config {
                format!("the {} quota set by --config", format_bytes(default))
            } else {
                format!("etcd's {} default", format_bytes(default))
            },
            WHERE_THE_QUOTA_IS,
            format_bytes_si(t.value(n::ETCD_LARGE_BYTES)),
        ),
        source: format!("metrics:{}", api.source),
        measures,
        table: None,
        thresholds: vec![n::ETCD_LARGE_BYTES, n::ETCD_QUOTA_BYTES],
        remedies: vec![
            remedies::read_the_quota(),
            remedies::find_what_takes_space(),
            watch(&format!("{}{{}}", db.metric)),
        ],
    }
    .into_finding(&INFO, t)
}

/// A database at the assumed quota, or past it by at most [`PAST_THE_QUOTA_MARGIN`], with no
/// quota known: possibly full (NOSPACE) at that quota, or under a larger one. Critical, as 95%
/// of the assumed quota is: the size alone cannot tell, and a full etcd refuses every write.
fn possibly_full(api: &ApiserverEvidence, db: &DbSize, q: &Quota, t: &Thresholds) -> Finding {
    let assumed = if q.from == QuotaFrom::Config {
        format!("the {} quota set by --config", format_bytes(q.bytes))
    } else {
        format!("etcd's {} default quota", format_bytes(q.bytes))
    };
    let unmatched = if q.unmatched { format!(" {UNMATCHED}") } else { String::new() };
    Draft {
        severity: Severity::Critical,
        title: format!(
            "etcd database is {}, at {assumed}: possibly full (NOSPACE), unless the real quota is larger",
            format_bytes(db.bytes)
        ),
        subject: Subject::new("etcd", db.endpoint.clone()),
        summary: format!(
            "`{}` reports {} ({} bytes) for {}, at {assumed} or within {:.0}% past it. A member full at that quota \
             shows about this size (its file can sit at or a little past the quota: deletes, compaction and the \
             file's growth are not checked against it), so etcd may be refusing every write with a NOSPACE alarm; \
             only a size more than {:.0}% past the quota proves a larger one. Check `etcdctl alarm list`.{unmatched} \
             {}",
            db.metric,
            format_bytes(db.bytes),
            format_count(db.bytes),
            db.endpoint,
            PAST_THE_QUOTA_MARGIN * 100.0,
            PAST_THE_QUOTA_MARGIN * 100.0,
            WHERE_THE_QUOTA_IS,
        ),
        source: format!("metrics:{}", api.source),
        measures: vec![
            Measure::new("database size", db.bytes, "bytes"),
            Measure::new(
                if q.from == QuotaFrom::Config { "the quota set by --config" } else { "etcd's default quota" },
                q.bytes,
                "bytes",
            ),
        ],
        table: None,
        thresholds: vec![n::ETCD_QUOTA_BYTES, n::ETCD_QUOTA_CRITICAL_RATIO],
        remedies: vec![
            remedies::check_alarms(),
            remedies::recover_from_nospace(),
            remedies::read_the_quota(),
            watch(&format!("{}{{}}", db.metric)),
        ],
    }
    .into_finding(&INFO, t)
}

/// `2 GB`: a decimal threshold as the docs give it.
fn format_bytes_si(bytes: f64) -> String {
    format!("{} GB", bytes / 1e9)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apiserver::DbSize;
    use crate::test_support::apiserver;

    fn ev(bytes: f64, quota: Option<f64>) -> MetricsEvidence {
        let mut api = apiserver();
        api.db_size = vec![DbSize {
            metric: "apiserver_storage_size_bytes".into(),
            endpoint: "etcd-0".into(),
            bytes,
            first_bytes: None,
            members_may_differ: None,
        }];
        MetricsEvidence { apiservers: vec![api], etcd_quota_bytes: quota, ..Default::default() }
    }

    fn severities(ev: &MetricsEvidence) -> Vec<Severity> {
        let mut out = Vec::new();
        run(ev, &Thresholds::default(), &mut out);
        out.iter().map(|f| f.severity).collect()
    }

    #[test]
    fn judged_against_the_default_quota_or_the_one_etcd_reports() {
        let gib = 1024.0 * 1024.0 * 1024.0;
        assert_eq!(severities(&ev(1.0 * gib, None)), []);
        assert_eq!(severities(&ev(1.7 * gib, None)), [Severity::Warning]);
        assert_eq!(severities(&ev(1.95 * gib, None)), [Severity::Critical]);
        // an 8 GiB quota read from etcd: 2.5 GiB is only "large"
        assert_eq!(severities(&ev(2.5 * gib, Some(8.0 * gib))), [Severity::Info]);
        let mut out = Vec::new();
        run(&ev(1.95 * gib, None), &Thresholds::default(), &mut out);
        assert!(out[0].thresholds.iter().any(|t| t.name == "etcd_quota_bytes"));
        assert!(out[0].remedies.iter().any(|r| r.body.contains("one at a time")));
    }

    /// Metrics review item 1: below the default, the default is still judged against, and the
    /// title and summary say it was assumed; at or past it, the quota is unknown and larger.
    #[test]
    fn the_assumed_default_quota_is_named_as_an_assumption_and_not_used_past_it() {
        let gib = 1024.0 * 1024.0 * 1024.0;
        let mut out = Vec::new();
        run(&ev(1.95 * gib, None), &Thresholds::default(), &mut out);
        assert_eq!(
            out[0].title,
            "etcd database is 1.9 GiB of an assumed 2.0 GiB quota (98%; etcd's default, the real quota is unknown)"
        );
        assert!(
            out[0].summary.contains("etcd's default quota, assumed because no etcd scrape gave the real one")
        );
        assert!(out[0].remedies.iter().any(|r| r.body.contains("2.0 GiB is etcd's default, assumed")));
        // Within 5% past the default, possibly full at it (rev-metrics item 7); beyond, larger.
        let mut out = Vec::new();
        run(&ev(2.0 * gib, None), &Thresholds::default(), &mut out);
        assert_eq!(out[0].severity, Severity::Critical, "{}", out[0].title);
        assert!(out[0].title.contains("possibly full (NOSPACE)"), "{}", out[0].title);
        for bytes in [2.2 * gib, 6.6 * gib] {
            let mut out = Vec::new();
            run(&ev(bytes, None), &Thresholds::default(), &mut out);
            assert_eq!(out.len(), 1);
            assert_eq!(out[0].severity, Severity::Info, "{}", out[0].title);
            assert!(out[0].title.contains("the real quota is unknown and larger"), "{}", out[0].title);
        }
        // a known quota is judged as before, and a small share shows one decimal
        let mut out = Vec::new();
        run(&ev(7.0 * gib, Some(8.0 * gib)), &Thresholds::default(), &mut out);
        assert_eq!(out[0].title, "etcd database is 7.0 GiB of a 8.0 GiB quota (88%)");
    }

    /// Review 50: "Read the real quota" printed `curl -s --cacert $CA --cert $CERT --key $KEY
    /// https://$ENDPOINT/metrics`, none of them set. Every command of every MET004 finding now
    /// sets what it uses first.
    #[test]
    fn met004_read_the_quota_with_ca_cert_key_and_endpoint_set_nowhere() {
        let gib = 1024.0 * 1024.0 * 1024.0;
        let mut bodies = Vec::new();
        for (bytes, quota) in
            [(1.7, None), (1.95, None), (2.5, None), (6.6, None), (7.0, Some(8.0)), (2.5, Some(8.0))]
        {
            let mut out = Vec::new();
            run(&ev(bytes * gib, quota.map(|q| q * gib)), &Thresholds::default(), &mut out);
            assert_eq!(out.len(), 1, "{bytes} GiB");
            bodies.extend(
                out.iter()
                    .flat_map(|f| &f.remedies)
                    .filter(|r| r.kind == findings::RemedyKind::Command)
                    .map(|r| r.body.clone()),
            );
        }
        let read =
            bodies.iter().find(|b| b.contains("quota-backend-bytes")).expect("the real quota's remedy");
        assert!(read.contains("\nENDPOINT=https://ETCD-MEMBER:2379\nTLS='--cacert="), "{read}");
        assert!(read.contains("apiserver-doctor etcd --endpoints \"$ENDPOINT\" $TLS --no-keys"), "{read}");
        for body in &bodies {
            assert_eq!(remedies::unset_shell_variables(body), Vec::<String>::new(), "{body}");
        }
    }

    fn member(source: &str, id: &str, bytes: f64, quota: f64) -> crate::EtcdMetrics {
        let text = format!(
            "etcd_server_id{{server_id=\"{id}\"}} 1\netcd_server_quota_backend_bytes {quota}\n\
             etcd_mvcc_db_total_size_in_bytes {bytes}\n"
        );
        let scrape = crate::Snapshot::parse(source, text.as_bytes(), None);
        crate::etcd_metrics::evidence(&crate::Window::single(&scrape))
    }

    fn db(endpoint: &str, bytes: f64) -> DbSize {
        DbSize {
            metric: "apiserver_storage_size_bytes".into(),
            endpoint: endpoint.into(),
            bytes,
            first_bytes: None,
            members_may_differ: None,
        }
    }

    /// Review 50, item 3: the smallest quota of the members given was applied to the API
    /// server's database ("7.0 GiB of a 2.0 GiB quota (350%)" beside ETC001's 88% of the
    /// member's 8 GiB), and a separate events etcd's quota to the main database.
    #[test]
    fn met004_judged_every_database_against_the_smallest_etcd_quota() {
        let gib = 1024.0 * 1024.0 * 1024.0;
        let mut api = apiserver();
        api.db_size = vec![db("etcd-0", 7.0 * gib)];
        let ev = MetricsEvidence {
            apiservers: vec![api],
            etcd: vec![
                member("m1.prom", "aaaa000000000001", 7.0 * gib, 8.0 * gib),
                member("m2q.prom", "aaaa000000000002", 3.0 * gib, 2.0 * gib),
            ],
            ..Default::default()
        };
        let mut out = Vec::new();
        run(&ev, &Thresholds::default(), &mut out);
        assert_eq!(out.len(), 1, "{out:#?}");
        assert_eq!(
            out[0].title,
            "etcd database is 7.0 GiB of a 8.0 GiB quota (88%; the quota of etcd member aaaa000000000001 (m1.prom))"
        );
        assert_eq!(out[0].severity, Severity::Warning);

        // A separate etcd for events: its quota is its own database's, not the main one's.
        let mut api = apiserver();
        api.db_size = vec![db("etcd-0", 7.0 * gib), db("etcd-1", 1.9 * gib)];
        let ev = MetricsEvidence {
            apiservers: vec![api],
            etcd: vec![member("events-etcd.prom", "eeee000000000001", 1.9 * gib, 2.0 * gib)],
            ..Default::default()
        };
        let mut out = Vec::new();
        run(&ev, &Thresholds::default(), &mut out);
        let of = |endpoint: &str| out.iter().find(|f| f.subject.name == endpoint).expect(endpoint);
        assert_eq!(of("etcd-1").severity, Severity::Critical, "{}", of("etcd-1").title);
        assert!(
            of("etcd-1").title.contains("the quota of etcd member eeee000000000001"),
            "{}",
            of("etcd-1").title
        );
        let main = of("etcd-0");
        assert_eq!(main.severity, Severity::Info, "{}", main.title);
        assert!(main.title.contains("the real quota is unknown and larger"), "{}", main.title);
        assert!(main.summary.contains("whose sizes are far from this one"), "{}", main.summary);
    }

    /// Review 50, item 4: a quota set by `--config` was called "etcd's default".
    #[test]
    fn met004_called_a_config_quota_etcds_default() {
        let mut t = Thresholds::default();
        t.set(n::ETCD_QUOTA_BYTES, 2_400_000.0).expect("a known threshold");
        let mut out = Vec::new();
        run(&ev(2_306_867.0, None), &t, &mut out);
        assert_eq!(
            out[0].title,
            "etcd database is 2.2 MiB of an assumed 2.3 MiB quota (96%; the quota set by --config, the real quota is unknown)"
        );
        assert!(
            out[0].summary.contains("the quota set by --config (etcd_quota_bytes), assumed"),
            "{}",
            out[0].summary
        );
        assert!(!out[0].summary.contains("etcd's default"), "{}", out[0].summary);
        // Its remedy too named it etcd's default.
        let raise = out[0].remedies.iter().find(|r| r.title.starts_with("Raise the quota")).expect("remedy");
        assert!(raise.body.contains("is the quota set by --config, assumed"), "{}", raise.body);
        let mut out = Vec::new();
        run(&ev(2_600_000.0, None), &t, &mut out);
        assert!(out[0].title.contains("past the 2.3 MiB quota set by --config"), "{}", out[0].title);
        assert!(!out[0].summary.contains("etcd's 2.3 MiB default"), "{}", out[0].summary);
    }

    #[test]
    fn non_finite_sizes_give_no_finding() {
        assert_eq!(severities(&ev(f64::NAN, None)), []);
        assert_eq!(severities(&ev(f64::INFINITY, None)), []);
    }
}
