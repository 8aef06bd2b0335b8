//! Prometheus and OpenMetrics text parsing, histogram quantiles, rates, and the metrics checks.
//!
//! The pipeline: [`load::load_input`] (or [`load::load`], [`Snapshot::parse`]) reads scrapes;
//! [`MetricsEvidence::from_snapshots`] groups the scrapes by target (two scrapes of one target
//! give rates and growth) and reads the numbers the checks need; [`checks::run`] turns them
//! into [`findings::Finding`]s.
//! The etcd checks (codes `ETC…`) live in the `etcd` crate and read [`EtcdMetrics`].

pub mod apiserver;
pub mod checks;
pub mod etcd_metrics;
pub mod load;
pub mod parse;
pub mod quantile;
pub mod snapshot;
pub mod target;

pub use apiserver::ApiserverEvidence;
pub use etcd_metrics::EtcdMetrics;
pub use snapshot::{Histogram, Snapshot, Window};
use snapshot::{MIN_FALLBACK_INTERVAL_MS, fallback_times_too_close};
pub use target::{Target, TargetKind};

use std::collections::HashMap;

/// Everything the metrics checks read: one entry per target found among the scrapes.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct MetricsEvidence {
    /// kube-apiserver targets.
    pub apiservers: Vec<ApiserverEvidence>,
    /// etcd members (read by the `etcd` crate's checks).
    pub etcd: Vec<EtcdMetrics>,
    /// Scrapes that are neither (their source names).
    pub unknown: Vec<String>,
    /// The etcd quota, when the etcd scrapes give one, the same in each: the API server's
    /// database size is judged against it rather than against the default (MET004 reads each
    /// member's from [`MetricsEvidence::etcd`] when they differ).
    pub etcd_quota_bytes: Option<f64>,
    /// What the reader must know about how the scrapes were grouped and ordered: which rule
    /// ordered two scrapes when their samples carry no timestamps, scrapes of different
    /// processes, windows of unknown length.
    pub notes: Vec<String>,
    /// Each admission webhook's `timeoutSeconds` as its configuration sets it, by webhook
    /// name, with where that was read (`webhooks.yaml:12`), when `diagnose` was given the
    /// configurations (`--manifests`, `--cluster`): MET008 judges a webhook's P99 against it
    /// rather than against the 10 s default.
    pub webhook_timeouts: std::collections::BTreeMap<String, WebhookTimeout>,
}

/// A webhook's `timeoutSeconds`, and where it was read.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct WebhookTimeout {
    /// Seconds.
    pub seconds: f64,
    /// Where it was read, `file:line` of its configuration.
    pub from: String,
}

/// What says two scrapes are of the same process: kind, version, etcd member id,
/// `process_start_time_seconds` (HA replicas and a restarted process differ in it), and the
/// scrape target its samples' `instance`, `job` or `pod` labels name (the members of a
/// `/federate` file without member ids nor start times differ only in it).
#[derive(Debug, Clone, PartialEq)]
struct TargetKey {
    kind: TargetKind,
    version: Option<String>,
    member: Option<String>,
    started: Option<f64>,
    scrape_target: Option<String>,
}

impl TargetKey {
    fn of(s: &Snapshot) -> TargetKey {
        let member =
            s.series("etcd_server_id").next().and_then(|x| x.labels.get("server_id")).map(str::to_owned);
        let started = s.first_value("process_start_time_seconds").filter(|v| v.is_finite());
        TargetKey {
            kind: s.target.kind,
            version: s.target.version.clone(),
            member,
            started,
            scrape_target: s.scrape_target.clone(),
        }
    }
}

/// Counters compared between two scrapes of one process.
#[derive(Debug, Clone, Copy, Default)]
struct Votes {
    /// Series present in both.
    compared: usize,
    /// Higher in the second.
    grew: usize,
    /// Lower in the second.
    fell: usize,
}

impl Votes {
    /// `Some(true)` when every (all but at most 1 %) changed counter grew from `a` to `b`,
    /// `Some(false)` when they fell, `None` when the counters do not tell.
    fn a_first(self) -> Option<bool> {
        if self.grew > 0 && self.fell * 100 <= self.grew {
            Some(true)
        } else if self.fell > 0 && self.grew * 100 <= self.fell {
            Some(false)
        } else {
            None
        }
    }

    fn why_undecided(self) -> String {
        if self.compared == 0 {
            "they have no counter in common".to_owned()
        } else if self.grew == 0 && self.fell == 0 {
            format!("all {} counters they share are equal", thousands(self.compared))
        } else {
            format!(
                "of the {} counters they share, {} grew and {} fell",
                thousands(self.compared),
                thousands(self.grew),
                thousands(self.fell)
            )
        }
    }
}

/// Two scrapes whose counters do not tell which came first: `votes` counts how those of `to`
/// compare with those of `from`.
struct Undecided<'a> {
    votes: Votes,
    from: &'a Snapshot,
    to: &'a Snapshot,
}

impl Undecided<'_> {
    /// Why the counters do not tell, grew and fell counted from the earlier of the two in
    /// `order` (the order the note names) to the later: counted the other way, "2 grew and 1
    /// fell" was said of scrapes given oldest first (review s42, item 3).
    fn why(&self, order: &[&Snapshot]) -> String {
        let at = |s: &Snapshot| order.iter().position(|o| std::ptr::eq(*o, s));
        let (mut v, mut first, mut second) = (self.votes, self.from, self.to);
        if at(first) > at(second) {
            (v.grew, v.fell) = (v.fell, v.grew);
            (first, second) = (second, first);
        }
        let why = v.why_undecided();
        if order.len() > 2 && v.compared > 0 {
            // Which two of the scrapes it is.
            why.replacen("they share", &format!("{} and {} share", first.source, second.source), 1).replacen(
                "grew",
                &format!("grew from {} to {}", first.source, second.source),
                1,
            )
        } else {
            why
        }
    }
}

/// Whether series `name` is a counter: declared so (or as a histogram's buckets and count, a
/// summary's count), or undeclared and named `…_total`.
fn is_counter(e: &parse::Exposition, name: &str) -> bool {
    use parse::MetricType as T;
    let declared = |n: &str| e.families.get(n).map(|f| f.metric_type);
    if let Some(t) = declared(name) {
        return t == T::Counter;
    }
    for (suffix, types) in
        [("_total", &[T::Counter][..]), ("_bucket", &[T::Histogram]), ("_count", &[T::Histogram, T::Summary])]
    {
        if let Some(base) = name.strip_suffix(suffix) {
            return match declared(base) {
                Some(t) => types.contains(&t),
                None => suffix == "_total",
            };
        }
    }
    false
}

/// How the counters of `b` compare with those of `a`.
fn counter_votes(a: &Snapshot, b: &Snapshot) -> Votes {
    let mut v = Votes::default();
    for name in a.series_names() {
        if !b.has(name) || !is_counter(&a.exposition, name) {
            continue;
        }
        let before: HashMap<parse::Labels, f64> =
            a.series(name).map(|s| (s.labels.without(""), s.value)).collect();
        for s in b.series(name) {
            let Some(&x) = before.get(&s.labels.without("")) else { continue };
            if !(x.is_finite() && s.value.is_finite()) {
                continue;
            }
            v.compared += 1;
            if s.value > x {
                v.grew += 1;
            } else if s.value < x {
                v.fell += 1;
            }
        }
    }
    v
}

/// Orders scrapes of one process by their counters; `None` when a pair does not tell.
fn order_by_counters<'a>(members: &[&'a Snapshot]) -> Result<Vec<&'a Snapshot>, Undecided<'a>> {
    let mut sorted: Vec<&Snapshot> = Vec::with_capacity(members.len());
    for &m in members {
        let mut pos = sorted.len();
        for (i, &s) in sorted.iter().enumerate() {
            let votes = counter_votes(m, s);
            match votes.a_first() {
                Some(true) => {
                    pos = i;
                    break;
                }
                Some(false) => {}
                None => return Err(Undecided { votes, from: m, to: s }),
            }
        }
        sorted.insert(pos, m);
    }
    Ok(sorted)
}

/// `1,234`.
fn thousands(n: usize) -> String {
    findings::thousands(n as i128)
}

/// Unix seconds as `2025-03-11 09:13:19 UTC`.
fn utc(secs: f64) -> String {
    if !secs.is_finite() || secs.abs() > 1e13 {
        return format!("{secs} (Unix seconds)");
    }
    let secs = secs.floor() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// `450 s`, `7.5 min`, `2.0 h`.
fn duration(seconds: f64) -> String {
    // Under 10 s to the millisecond: `--interval 1.5` was said to be "2 s" (review s40).
    if seconds < 10.0 {
        checks::format_window_seconds(seconds)
    } else if seconds < 120.0 {
        format!("{seconds:.0} s")
    } else if seconds < 7200.0 {
        format!("{:.1} min", seconds / 60.0)
    } else {
        format!("{:.1} h", seconds / 3600.0)
    }
}

/// What the fallback times of these scrapes are.
fn fallback_name(members: &[&Snapshot]) -> &'static str {
    if members
        .iter()
        .all(|s| s.source == "-" || s.source.starts_with("http://") || s.source.starts_with("https://"))
    {
        "the times they were read"
    } else {
        "the files' modification times"
    }
}

fn kind_name(kind: TargetKind) -> &'static str {
    match kind {
        TargetKind::KubeApiserver => "API server",
        TargetKind::Etcd => "etcd",
        TargetKind::Unknown => "unknown",
    }
}

/// The scrapes sorted by their fallback times (modification or read times), when every one
/// has one and each is at least [`MIN_FALLBACK_INTERVAL_MS`] after the one before: an order
/// those times tell.
fn by_fallback_times<'a>(members: &[&'a Snapshot]) -> Option<Vec<&'a Snapshot>> {
    let mut sorted = members.to_vec();
    sorted.sort_by_key(|s| s.fallback_time_ms);
    let apart = sorted.windows(2).all(|w| match (w[0].fallback_time_ms, w[1].fallback_time_ms) {
        (Some(a), Some(b)) => b.saturating_sub(a) >= MIN_FALLBACK_INTERVAL_MS,
        _ => false,
    });
    (apart && sorted.iter().all(|s| s.fallback_time_ms.is_some())).then_some(sorted)
}

/// Whether two orders of the same scrapes are the same.
fn same_order(a: &[&Snapshot], b: &[&Snapshot]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| std::ptr::eq(*x, *y))
}

/// Why the scrapes, put in `sorted` order, may be of different processes: they carry no
/// `process_start_time_seconds` and a counter fell from one to the next.
fn fell_without_start(sorted: &[&Snapshot]) -> Option<String> {
    sorted.windows(2).find_map(|w| {
        let v = counter_votes(w[0], w[1]);
        (v.fell > 0).then(|| {
            format!(
                "the scrapes have no process_start_time_seconds and {} of the {} counters they share fell from {} \
                 to {}, so they may be of different processes (a restart between them, or two API server \
                 replicas behind a load balancer); a counter that fell is counted from zero, as Prometheus does",
                thousands(v.fell),
                thousands(v.compared),
                w[0].source,
                w[1].source
            )
        })
    })
}

/// Puts the scrapes of one process in order, earliest first, and says how when it was not
/// by their samples' timestamps. Also returns why what changed between them rests on a
/// guess, when it does: the scrapes carry no `process_start_time_seconds`, so nothing says
/// they are of one process, and either a counter fell between them (a restart, or another
/// replica) or only their counters tell their order. The checks do not raise a severity on
/// such an increase (review 50, item 1: two replicas' scrapes were put in order by their
/// counters against their file times, and 500 − 20 = 480 rejections "between the two scrapes"
/// drove a critical).
fn order<'a>(
    members: Vec<&'a Snapshot>,
    interval_seconds: Option<f64>,
    notes: &mut Vec<String>,
) -> (Vec<&'a Snapshot>, Option<String>) {
    let target = members.first().map(|s| s.target.describe()).unwrap_or_default();
    let names = |m: &[&Snapshot]| m.iter().map(|s| s.source.as_str()).collect::<Vec<_>>().join(" → ");
    let no_start = members.iter().any(|s| !s.has("process_start_time_seconds"));
    if members.iter().all(|s| s.sample_time_ms.is_some()) {
        let mut sorted = members;
        sorted.sort_by_key(|s| s.sample_time_ms);
        if let Some(i) = interval_seconds {
            notes.push(format!(
                "{target}: --interval {i} was not used for {}: their samples carry timestamps, which give the time between them.",
                names(&sorted)
            ));
        }
        let guess = if no_start { fell_without_start(&sorted) } else { None };
        return (sorted, guess);
    }
    // The order the scrapes' times tell, or the command line's when --interval is given.
    let in_file = members.iter().all(|s| s.file_scrape.is_some())
        && members.windows(2).all(|w| base_source(w[0]) == base_source(w[1]));
    let known = if in_file {
        let mut sorted = members.clone();
        sorted.sort_by_key(|s| s.file_scrape);
        Some((
            sorted,
            "their order in the file (a scrape appended to a file follows those before it)".to_owned(),
        ))
    } else if interval_seconds.is_some() {
        Some((members.clone(), "the order given on the command line (--interval was given)".to_owned()))
    } else {
        by_fallback_times(&members).map(|sorted| {
            let how = fallback_name(&sorted).to_owned();
            (sorted, how)
        })
    };
    let votes = match order_by_counters(&members) {
        Ok(sorted) => {
            let mut guess = None;
            if no_start {
                match &known {
                    // Without a start time, counters that fall against a known order are a
                    // restart or another replica, not a reason to turn the scrapes around:
                    // keep the known order and count what fell from zero.
                    Some((by_time, how)) if !same_order(by_time, &sorted) => {
                        let (Some(first), Some(last)) = (by_time.first(), by_time.last()) else {
                            return (sorted, None);
                        };
                        let v = counter_votes(first, last);
                        notes.push(format!(
                            "{target}: {} are taken in that order, by {how}, though their counters fell \
                             ({} of the {} counters they share are lower in {} than in {}): the scrapes have no \
                             process_start_time_seconds, so this is a restart between them or scrapes of \
                             different API server replicas behind a load balancer, not a reason to put them in \
                             the other order. Counters that fell are taken as reset and counted from zero, as \
                             Prometheus does (the increase is the later scrape's value), and no severity is \
                             raised on what changed between them.",
                            names(by_time),
                            thousands(v.fell),
                            thousands(v.compared),
                            last.source,
                            first.source
                        ));
                        let guess = fell_without_start(by_time);
                        return (by_time.clone(), guess);
                    }
                    Some(_) => {}
                    None => {
                        guess = Some(
                            "the scrapes have no process_start_time_seconds and their times do not tell their \
                             order, so they were put in order by their counters alone, which scrapes of two API \
                             server replicas behind a load balancer (or a restart) could also give"
                                .to_owned(),
                        );
                    }
                }
            }
            let (Some(first), Some(last)) = (sorted.first(), sorted.last()) else { return (sorted, guess) };
            let v = counter_votes(first, last);
            let share = if v.fell == 0 {
                format!("every one of the {} counters they share", thousands(v.compared))
            } else {
                format!("all but {} of the {} counters they share", thousands(v.fell), thousands(v.compared))
            };
            let mut note = format!(
                "{target}: {} are taken in that order because {share} is at least as high in {} as in {} \
                 ({} grew; counters only grow while a process runs); their samples carry no timestamps.",
                names(&sorted),
                last.source,
                first.source,
                thousands(v.grew)
            );
            // Times less than a second apart tell no order (copies); the window's note says so.
            if let (Some(a), Some(b)) = (first.fallback_time_ms, last.fallback_time_ms)
                && b < a
                && fallback_times_too_close(first, last).is_none()
            {
                note.push_str(&format!(
                    " {} say the opposite order and were not used.",
                    capitalize(fallback_name(&sorted))
                ));
            }
            if no_start {
                note.push_str(
                    " The scrapes have no process_start_time_seconds, so a restart between them (which also makes counters fall) cannot be ruled out.",
                );
            }
            if guess.is_some() {
                note.push_str(" No severity is raised on what changed between them.");
            }
            notes.push(note);
            return (sorted, guess);
        }
        Err(v) => v,
    };
    let mut restart = String::new();
    if votes.votes.grew > 0 || votes.votes.fell > 0 {
        restart = if no_start {
            " Counters that fell are taken as reset by a restart and counted from zero, as Prometheus does."
        } else {
            // One process start time: no restart explains the fall (review s51, item 3).
            " Counters that fell (a histogram's buckets each alone) are taken as reset and counted from zero, as \
             Prometheus' increase() does, though the scrapes share process_start_time_seconds, so no restart \
             explains the fall: the scrapes disagree."
        }
        .to_owned();
    }
    // The counters both grew and fell: without a start time, a restart or another replica;
    // with an order nothing tells, the increases rest on the order given.
    let changed = votes.votes.grew > 0 || votes.votes.fell > 0;
    let unknown_order = (changed && known.is_none()).then(|| {
        "their order is not known (their samples carry no timestamps, their counters do not tell it, and their \
         times are unknown or too close), so they were taken in the order given"
            .to_owned()
    });
    let guess_for = |sorted: &[&Snapshot]| {
        let fell = if no_start { fell_without_start(sorted) } else { None };
        fell.or_else(|| unknown_order.clone())
    };
    if in_file && let Some((sorted, how)) = known {
        notes.push(format!(
            "{target}: {} are taken in {how}: their samples carry no timestamps and their counters do not tell \
             the order ({}).{restart}",
            names(&sorted),
            votes.why(&sorted)
        ));
        let guess = guess_for(&sorted);
        return (sorted, guess);
    }
    if interval_seconds.is_some() {
        notes.push(format!(
            "{target}: {} are taken in the order given on the command line (--interval was given): their samples carry no timestamps and their counters do not tell the order ({}).{restart}",
            names(&members),
            votes.why(&members)
        ));
        let guess = guess_for(&members);
        return (members, guess);
    }
    let times: Vec<i64> = members.iter().filter_map(|s| s.fallback_time_ms).collect();
    if let (Some(min), Some(max)) = (times.iter().min(), times.iter().max())
        && times.len() == members.len()
        && max.saturating_sub(*min) < MIN_FALLBACK_INTERVAL_MS
    {
        notes.push(format!(
            "{target}: {} are taken in the order given: their samples carry no timestamps, their counters do not \
             tell the order ({}), and {} are less than 1 s apart, too close to tell it.{restart}",
            names(&members),
            votes.why(&members),
            fallback_name(&members)
        ));
        let guess = guess_for(&members);
        return (members, guess);
    }
    if members.iter().all(|s| s.fallback_time_ms.is_some()) {
        let mut sorted = members;
        sorted.sort_by_key(|s| s.fallback_time_ms);
        notes.push(format!(
            "{target}: {} are ordered by {}, the last resort: their samples carry no timestamps and their counters do not tell the order ({}).{restart}",
            names(&sorted),
            fallback_name(&sorted),
            votes.why(&sorted)
        ));
        let guess = guess_for(&sorted);
        return (sorted, guess);
    }
    notes.push(format!(
        "{target}: {} are taken in the order given: nothing else tells their order ({}).{restart}",
        names(&members),
        votes.why(&members)
    ));
    let guess = guess_for(&members);
    (members, guess)
}

/// The file a scrape was read from, without what names one of several scrapes in it.
fn base_source(s: &Snapshot) -> &str {
    s.source.split(" (scrape ").next().unwrap_or(&s.source)
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().collect::<String>() + c.as_str()).unwrap_or_default()
}

/// Says how long the window of `first` → `last` is when it was not their timestamps.
fn window_note(
    first: &Snapshot,
    last: &Snapshot,
    window: &Window<'_>,
    interval: Option<f64>,
    notes: &mut Vec<String>,
) {
    let target = last.target.describe();
    let stamped = first.sample_time_ms.is_some() && last.sample_time_ms.is_some();
    // Fallback times less than a second apart were not used as the interval (see
    // `snapshot::MIN_FALLBACK_INTERVAL_MS`).
    let too_close = if stamped || interval.is_some() { None } else { fallback_times_too_close(first, last) };
    match (window.seconds, too_close) {
        (Some(s), _) if s > 0.0 && !stamped => {
            let from = if interval.is_some() {
                "--interval".to_owned()
            } else {
                fallback_name(&[first, last]).to_owned()
            };
            notes.push(format!(
                "{target}: the {} between {} and {} is taken from {from}.",
                duration(s),
                first.source,
                last.source
            ));
        }
        (Some(s), _) if s > 0.0 => {}
        _ if first.file_scrape.is_some() && last.file_scrape.is_some() && !stamped => notes.push(format!(
            "{target}: {} and {} are scrapes one after the other in one file, and the time between them is \
             unknown (one file has one modification time, and the samples carry no timestamps): counts are the increase between the two scrapes, and no rate, growth per hour or time \
             to quota is computed. Give --interval SECONDS (diagnose: --metrics-interval SECONDS) if you know \
             it, or save each scrape to a file of its own.",
            first.source, last.source
        )),
        (_, Some(gap)) => {
            let apart = if gap == 0 {
                "are equal to the millisecond".to_owned()
            } else {
                format!("are only {gap} ms apart")
            };
            let read = fallback_name(&[first, last]) == "the times they were read";
            let why = if read {
                format!(
                    "the times {} and {} were read {apart}: too short a window to give rates",
                    first.source, last.source
                )
            } else {
                format!(
                    "the modification times of {} and {} {apart}, too close to be the times they were scraped \
                     (a copy made with cp, cp -r, git checkout or kubectl cp gets the time of the copy, not of the scrape)",
                    first.source, last.source
                )
            };
            let touch = if read { "" } else { ", or set each file's time to when it was scraped (touch -d)" };
            notes.push(format!(
                "{target}: {why}, so the time between the two scrapes is taken as unknown (times less than 1 s \
                 apart are not used): counts are the increase between them, and no rate, growth per hour or time \
                 to quota is computed. For rates, give the time between the scrapes: apiserver-doctor metrics \
                 --interval SECONDS {} {} (diagnose: --metrics-interval SECONDS){touch}.",
                first.source, last.source
            ));
        }
        _ => notes.push(format!(
            "{target}: the time between {} and {} is unknown (their times are equal, or in the other order): \
             counts are the increase between the two scrapes, and no rate or growth per hour is computed. \
             Give --interval SECONDS (diagnose: --metrics-interval SECONDS) if you know it.",
            first.source, last.source
        )),
    }
}

impl MetricsEvidence {
    /// Groups scrapes by process and reads their evidence.
    ///
    /// A scrape holding several targets (a `/federate` file, scrapes concatenated) is first
    /// cut into one per target ([`Snapshot::split_targets`]). Scrapes of the same kind,
    /// version, etcd member id, process start time and scrape target are successive scrapes
    /// of one process: the earliest and the latest form a window. They are
    /// ordered by their samples' timestamps when all carry them, else by their counters
    /// (which only grow while a process runs), else in the order given when
    /// `interval_seconds` is given, else by their fallback times (modification or read
    /// times). `interval_seconds` is the time between them only when their samples carry
    /// no timestamps. Counters of different processes are never subtracted: each is its own
    /// target. With API server scrapes of several processes, the cluster-wide gauges (object
    /// counts, database size) are judged once more, across the processes of each control plane
    /// that could share one etcd (`control_planes`: at most one minor version apart, the same
    /// etcd storage), and taken out of those processes' evidence; a process alone in its
    /// control plane keeps its own. [`MetricsEvidence::notes`] says how, when it was
    /// not the timestamps.
    pub fn from_snapshots(snapshots: &[Snapshot], interval_seconds: Option<f64>) -> MetricsEvidence {
        // A file holding several targets is judged target by target, as separate files are
        // (`load` callers split them already; this splits what was not).
        let parts: Vec<Vec<Snapshot>> = snapshots
            .iter()
            .map(|s| if s.holds_several_targets() { s.clone().split_targets() } else { Vec::new() })
            .collect();
        let snapshots: Vec<&Snapshot> = snapshots
            .iter()
            .zip(&parts)
            .flat_map(|(s, split)| if split.is_empty() { vec![s] } else { split.iter().collect() })
            .collect();
        let mut groups: Vec<(TargetKey, Vec<&Snapshot>)> = Vec::new();
        for s in snapshots {
            let key = TargetKey::of(s);
            match groups.iter_mut().find(|(k, _)| *k == key) {
                Some((_, members)) => members.push(s),
                None => groups.push((key, vec![s])),
            }
        }
        let mut out = MetricsEvidence::default();
        out.notes.extend(process_notes(&groups));
        let api_groups: Vec<(usize, &Vec<&Snapshot>)> = groups
            .iter()
            .enumerate()
            .filter(|(_, (k, _))| k.kind == TargetKind::KubeApiserver)
            .map(|(i, (_, m))| (i, m))
            .collect();
        let planes = control_planes(&api_groups, &mut out.notes);
        // The groups whose gauges are judged across processes, on their control plane's.
        let mut merged = vec![false; groups.len()];
        let mut clusters = Vec::new();
        for plane in planes.iter().filter(|p| p.len() > 1) {
            let scrapes: Vec<&Snapshot> = plane.iter().flat_map(|(_, m)| m.iter().copied()).collect();
            let process_of =
                |s: &Snapshot| plane.iter().position(|(_, m)| m.iter().any(|x| std::ptr::eq(*x, s)));
            let of = (planes.len() > 1).then(|| {
                plane
                    .iter()
                    .flat_map(|(_, m)| m.iter().map(|s| s.source.as_str()))
                    .collect::<Vec<_>>()
                    .join(", ")
            });
            if let Some(c) =
                cluster_gauges(&scrapes, &process_of, interval_seconds, of.as_deref(), &mut out.notes)
            {
                clusters.push(c);
                for (i, _) in plane {
                    if let Some(m) = merged.get_mut(*i) {
                        *m = true;
                    }
                }
            }
        }
        for (g, (key, members)) in groups.into_iter().enumerate() {
            if key.kind == TargetKind::Unknown {
                out.unknown.extend(members.iter().map(|s| s.source.clone()));
                continue;
            }
            let (members, guess) = if members.len() > 1 {
                order(members, interval_seconds, &mut out.notes)
            } else {
                (members, None)
            };
            let (Some(&first), Some(&last)) = (members.first(), members.last()) else { continue };
            let window = if members.len() > 1 {
                let w = Window::between(first, last, interval_seconds);
                window_note(first, last, &w, interval_seconds, &mut out.notes);
                w
            } else {
                Window::single(last)
            };
            match key.kind {
                TargetKind::KubeApiserver => {
                    let mut e = apiserver::evidence(&window);
                    e.change_guess = guess;
                    // The gauges are judged once, on the control plane's evidence: not once
                    // per replica.
                    if merged.get(g).copied().unwrap_or(false) {
                        e.objects.clear();
                        e.db_size.clear();
                    }
                    out.apiservers.push(e);
                }
                TargetKind::Etcd => out.etcd.push(etcd_metrics::evidence(&window)),
                TargetKind::Unknown => {}
            }
        }
        out.apiservers.extend(clusters);
        // One quota only when every etcd scrape that gives one gives the same: MET004 judges
        // each database against its own member's otherwise (review 50, item 3).
        let quotas: Vec<f64> = out.etcd.iter().filter_map(|e| e.quota_bytes).collect();
        out.etcd_quota_bytes = quotas.first().copied().filter(|q| quotas.iter().all(|x| x == q));
        out
    }
}

/// What tells whether API server processes can belong to one control plane, and so read one
/// etcd: their version, and the etcd storage their database size names.
struct PlaneKey<'a> {
    /// The first of the process's scrapes, named in notes.
    scrape: &'a Snapshot,
    /// `(major, minor)`, when the version is known.
    minor: Option<(u32, u32)>,
    /// The label that names the etcd storage on the database size metric (`endpoint`,
    /// `cluster` or `storage_cluster_id`) and its values, when the scrape has that metric.
    storage: Option<(&'static str, std::collections::BTreeSet<String>)>,
}

impl<'a> PlaneKey<'a> {
    fn of(members: &[&'a Snapshot]) -> Option<PlaneKey<'a>> {
        let scrape = *members.first()?;
        let storage = members.iter().find_map(|s| {
            let metric = apiserver::DB_SIZE_METRICS.iter().find(|m| s.has(m))?;
            let label = ["endpoint", "cluster", "storage_cluster_id"]
                .into_iter()
                .find(|l| s.series(metric).any(|x| x.labels.get(l).is_some()))?;
            Some((label, s.series(metric).filter_map(|x| x.labels.get(label)).map(str::to_owned).collect()))
        });
        Some(PlaneKey { scrape, minor: scrape.target.minor(), storage })
    }

    /// Why `self` and `other` cannot be API servers of one control plane, when they cannot.
    fn cannot_share(&self, other: &PlaneKey<'_>) -> Option<String> {
        if let (Some((ma, a)), Some((mb, b))) = (self.minor, other.minor)
            && (ma != mb || a.abs_diff(b) > 1)
        {
            return Some(format!(
                "{} and {} are more than one minor version apart, and the version skew policy allows the API \
                 servers of one control plane at most one",
                self.scrape.target.describe(),
                other.scrape.target.describe()
            ));
        }
        if let (Some((la, a)), Some((lb, b))) = (&self.storage, &other.storage)
            && la == lb
            && a != b
        {
            let set =
                |s: &std::collections::BTreeSet<String>| s.iter().cloned().collect::<Vec<_>>().join(", ");
            return Some(format!("they report different etcd storage ({la} {} against {})", set(a), set(b)));
        }
        None
    }
}

/// The API server processes (groups of scrapes, with their index among all groups) put in
/// control planes that could each share one etcd: processes at most one minor version apart
/// (the version skew policy's limit for the API servers of one control plane) whose database
/// size names the same etcd storage (the same values of its `endpoint`, `cluster` or
/// `storage_cluster_id` label, when both use the same label). A process whose version or
/// storage is unknown is not told apart by it. Each process joins the first plane it can share
/// with every process of, else starts one. With more than one plane, a note names them and
/// why (review of the metrics command, item 1: object counts and the database size of two
/// clusters, 1.30 and 1.35, were judged on the last scrape only, and their difference read as
/// growth).
fn control_planes<'g, 's>(
    api_groups: &[(usize, &'g Vec<&'s Snapshot>)],
    notes: &mut Vec<String>,
) -> Vec<Vec<(usize, &'g Vec<&'s Snapshot>)>> {
    let mut planes: Vec<Vec<(usize, &Vec<&Snapshot>, PlaneKey<'s>)>> = Vec::new();
    let mut why: Vec<String> = Vec::new();
    for &(i, members) in api_groups {
        let Some(key) = PlaneKey::of(members) else { continue };
        match planes.iter_mut().find(|p| p.iter().all(|(_, _, k)| k.cannot_share(&key).is_none())) {
            Some(plane) => plane.push((i, members, key)),
            None => {
                if let Some(reason) =
                    planes.first().and_then(|p| p.first()).and_then(|(_, _, k)| k.cannot_share(&key))
                {
                    let first = planes
                        .first()
                        .and_then(|p| p.first())
                        .map_or("", |(_, _, k)| k.scrape.source.as_str());
                    why.push(format!("{first} and {}: {reason}", key.scrape.source));
                }
                planes.push(vec![(i, members, key)]);
            }
        }
    }
    if planes.len() > 1 {
        let described: Vec<String> = planes
            .iter()
            .map(|p| {
                let sources: Vec<&str> =
                    p.iter().flat_map(|(_, m, _)| m.iter().map(|s| s.source.as_str())).collect();
                let target = p.first().map(|(_, _, k)| k.scrape.target.describe()).unwrap_or_default();
                format!("{} ({target})", sources.join(", "))
            })
            .collect();
        notes.push(format!(
            "The API server scrapes are of {} control planes that cannot share one etcd ({}), so the object counts \
             and the database size of each are judged on its own and never compared across them: {}. API servers \
             are taken for one control plane when they are at most one minor version apart and their database \
             size names the same etcd storage.",
            planes.len(),
            why.join("; "),
            described.join("; ")
        ));
    }
    planes.into_iter().map(|p| p.into_iter().map(|(i, m, _)| (i, m)).collect()).collect()
}

/// The cluster-wide gauges (`apiserver_storage_objects` and the like, the database size)
/// over the API server scrapes of several processes (HA replicas behind a load balancer, or a
/// restart). They describe the one etcd every replica reads, so unlike counters they can be
/// compared across processes: from the earliest scrape to the latest, when their times are
/// known (their samples' timestamps, `--interval` for two scrapes, or their fallback times at
/// least 1 s apart); otherwise the last scrape given alone, without growth. Only the gauges are
/// kept: latency, APF and webhook numbers stay per process.
fn cluster_gauges(
    scrapes: &[&Snapshot],
    process_of: &dyn Fn(&Snapshot) -> Option<usize>,
    interval: Option<f64>,
    of: Option<&str>,
    notes: &mut Vec<String>,
) -> Option<ApiserverEvidence> {
    // Named when the scrapes hold several control planes.
    let all = match of {
        Some(sources) => format!("the API server processes of {sources}"),
        None => "all API server processes".to_owned(),
    };
    let mut ordered: Vec<&Snapshot> = scrapes.to_vec();
    let how = if ordered.iter().all(|s| s.sample_time_ms.is_some()) {
        ordered.sort_by_key(|s| s.sample_time_ms);
        Some("their samples' timestamps".to_owned())
    } else if interval.is_some() && ordered.len() == 2 {
        Some("--interval, in the order given".to_owned())
    } else {
        let times: Vec<i64> = ordered.iter().filter_map(|s| s.fallback_time_ms).collect();
        match (times.iter().min(), times.iter().max()) {
            (Some(min), Some(max))
                if times.len() == ordered.len() && max.saturating_sub(*min) >= MIN_FALLBACK_INTERVAL_MS =>
            {
                ordered.sort_by_key(|s| s.fallback_time_ms);
                Some(fallback_name(&ordered).to_owned())
            }
            _ => None,
        }
    };
    let (Some(&first), Some(&last)) = (ordered.first(), ordered.last()) else { return None };
    let window = match &how {
        Some(_) if !std::ptr::eq(first, last) => Window::between(first, last, interval),
        _ => Window::single(last),
    };
    let e = apiserver::evidence(&window);
    let replicas = process_of(first) != process_of(last);
    let source = if replicas && window.first.is_some() {
        format!("{} (different API server processes)", e.source)
    } else {
        e.source.clone()
    };
    match (&how, window.seconds) {
        (Some(how), Some(seconds)) if seconds > 0.0 => notes.push(format!(
            "The cluster-wide gauges (object counts, database size) describe the one etcd {all} share, so they \
             are compared across the scrapes of different processes: {} → {}, {} apart ({how}). \
             Object counts and the database size are judged once, on the latest scrape ({}), and their growth \
             over that time.",
            first.source,
            last.source,
            duration(seconds),
            last.source
        )),
        _ => notes.push(format!(
            "The cluster-wide gauges (object counts, database size) describe the one etcd {all} share; the \
             scrapes' times are unknown, so they are judged once, on the last scrape given ({}), \
             and no growth is computed. Give --interval SECONDS for two scrapes, or set each file's time to when \
             it was scraped (touch -d).",
            last.source
        )),
    }
    // Each API server reports the member at its own --etcd-servers endpoint (in kubeadm's
    // stacked layout every one is https://127.0.0.1:2379, a different member under one label).
    let mut db_size = e.db_size;
    if replicas && window.first.is_some() {
        for db in db_size.iter_mut().filter(|d| d.first_bytes.is_some() && d.members_may_differ.is_none()) {
            db.members_may_differ = Some(format!(
                "{} and {} are scrapes of different API server processes, and each reports the etcd member at its \
                 own --etcd-servers endpoint (`{}`)",
                first.source, last.source, db.endpoint
            ));
        }
    }
    Some(ApiserverEvidence {
        source,
        target: e.target,
        window_seconds: e.window_seconds,
        latency: Vec::new(),
        object_metric: e.object_metric,
        objects: e.objects,
        db_size,
        apf_rejections: Vec::new(),
        apf_wait: Vec::new(),
        webhooks: Vec::new(),
        saturation: Vec::new(),
        etcd_requests: Vec::new(),
        // Each process's evidence already names its skipped values.
        skipped_values: Vec::new(),
        change_guess: None,
    })
}

/// One note per API server, and per etcd member, whose scrapes came from more than one
/// process (scrapes of different etcd members are different members, as expected).
fn process_notes(groups: &[(TargetKey, Vec<&Snapshot>)]) -> Vec<String> {
    let mut notes = Vec::new();
    let mut sets: Vec<(TargetKind, Option<&str>)> = Vec::new();
    for (k, _) in groups {
        let set = (k.kind, if k.kind == TargetKind::Etcd { k.member.as_deref() } else { None });
        if k.kind != TargetKind::Unknown && !sets.contains(&set) {
            sets.push(set);
        }
    }
    for (kind, member) in sets {
        let of_kind: Vec<&(TargetKey, Vec<&Snapshot>)> = groups
            .iter()
            .filter(|(k, _)| k.kind == kind && (kind != TargetKind::Etcd || k.member.as_deref() == member))
            .collect();
        if of_kind.len() < 2 {
            continue;
        }
        let scrapes: usize = of_kind.iter().map(|(_, m)| m.len()).sum();
        let differ = |f: &dyn Fn(&TargetKey) -> String| {
            let first = f(&of_kind[0].0);
            of_kind.iter().any(|(k, _)| f(k) != first)
        };
        let mut what = Vec::new();
        if differ(&|k| format!("{:?}", k.started.map(f64::to_bits))) {
            what.push("start time");
        }
        if differ(&|k| format!("{:?}", k.version)) {
            what.push("version");
        }
        if differ(&|k| format!("{:?}", k.member)) {
            what.push("etcd member id");
        }
        if differ(&|k| format!("{:?}", k.scrape_target)) {
            what.push("scrape target (instance, job or pod label)");
        }
        let what = match what.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
            _ => what.join(""),
        };
        let processes: Vec<String> = of_kind
            .iter()
            .map(|(k, m)| {
                let files = m.iter().map(|s| s.source.as_str()).collect::<Vec<_>>().join(", ");
                let mut about = Vec::new();
                if let Some(v) = &k.version {
                    about.push(v.clone());
                }
                if let Some(id) = &k.member {
                    about.push(format!("member {id}"));
                }
                if let Some(t) = k.started {
                    about.push(format!("process_start_time_seconds {t}: {}", utc(t)));
                }
                if about.is_empty() { files } else { format!("{files} ({})", about.join(", ")) }
            })
            .collect();
        let single = of_kind.iter().all(|(_, m)| m.len() == 1);
        let name = kind_name(kind);
        notes.push(format!(
            "The {scrapes} {} scrapes came from {} different {name} processes (they differ in {}): {}. \
             That is HA replicas behind a load balancer, or a restart between the scrapes. Counters are never \
             subtracted across processes: each process is reported on its own{}.",
            kind.as_str(),
            of_kind.len(),
            what,
            processes.join("; "),
            if single {
                ", its counters cumulative since it started, so no window between scrapes could be formed for its counters"
            } else {
                " (a process scraped once: counters cumulative since it started)"
            }
        ));
    }
    notes
}

#[cfg(test)]
pub(crate) mod test_support {
    use crate::ApiserverEvidence;

    /// An API server evidence with nothing in it.
    pub fn apiserver() -> ApiserverEvidence {
        ApiserverEvidence {
            source: "apiserver.prom".into(),
            target: "kube-apiserver 1.30.0".into(),
            window_seconds: None,
            latency: vec![],
            object_metric: Some("apiserver_storage_objects".into()),
            objects: vec![],
            db_size: vec![],
            apf_rejections: vec![],
            apf_wait: vec![],
            webhooks: vec![],
            saturation: vec![],
            etcd_requests: vec![],
            skipped_values: vec![],
            change_guess: None,
        }
    }
}
