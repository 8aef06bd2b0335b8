//! The API Priority and Fairness items of the manifests review (reviewer s20): each test is
//! named after the bug it pins, on the reviewer's own inputs (tests/fixtures/apf_review) read
//! together with the API server's bootstrap objects, and checks the remedies as they are
//! written for the on-call engineer.

use std::path::{Path, PathBuf};

use findings::{Finding, Remedy, RemedyKind, Safety};
use manifests::checks::{Context, run};
use manifests::{Manifests, load_paths, refine_remedies};
use remedy::{ApfSubject, FlowControlApi, ResourceRule, ThrottlePlan, throttle_manifests};

fn fixture(name: &str) -> PathBuf {
    Path::new(&std::env::var("CARGO_MANIFEST_DIR").unwrap_or(env!("CARGO_MANIFEST_DIR").into()))
        .join("tests/fixtures")
        .join(name)
}

/// The bootstrap objects and the review's `input`.
fn cluster(input: &str) -> Manifests {
    load_paths(&[
        fixture("apf/k8s-bootstrap-apf-objects_v1.34plus.yaml"),
        fixture(&format!("apf_review/{input}")),
    ])
    .expect("readable")
}

/// The throttle the offender checks propose for the review's client
/// (`system:serviceaccount:observability:inventory-exporter` listing pods in every
/// namespace), in the flowcontrol version written for the server, with its watch command and
/// the client advice after it, as AUD004/AUD006 write them.
fn finding(api: FlowControlApi, rejected: Option<(u64, u64)>) -> Vec<Finding> {
    let mut plan = ThrottlePlan::new(
        "inventory-exporter",
        vec![ApfSubject::from_username("system:serviceaccount:observability:inventory-exporter")],
        vec![ResourceRule {
            verbs: ["list".to_owned()].into(),
            api_groups: ["".to_owned()].into(),
            resources: ["pods".to_owned()].into(),
            cluster_scope: true,
            namespaces: ["*".to_owned()].into(),
        }],
    );
    plan.already_rejected = rejected;
    let remedies = vec![
        Remedy {
            title: "throttle".into(),
            kind: RemedyKind::Yaml,
            body: throttle_manifests(&plan, api).expect("yaml"),
            safety: Safety::ReviewFirst,
        },
        Remedy {
            title: "watch".into(),
            kind: RemedyKind::Command,
            body: "kubectl get --raw /metrics | grep -E 'apiserver_flowcontrol_rejected_requests_total.*flow_schema=\"throttle-sa-observability.inventory-exporter\"'".into(),
            safety: Safety::Safe,
        },
        Remedy { title: "advice".into(), kind: RemedyKind::Advice, body: "paginate".into(), safety: Safety::Safe },
    ];
    vec![Finding {
        code: "AUD004".into(),
        severity: findings::Severity::Warning,
        title: "t".into(),
        subject: findings::Subject::new("client", "inventory-exporter"),
        time_range: None,
        summary: String::new(),
        evidence: findings::Evidence::default(),
        thresholds: Vec::new(),
        remedies,
    }]
}

/// The remedies after the manifests have judged the throttle.
fn refined(input: &str, api: FlowControlApi, rejected: Option<(u64, u64)>) -> Vec<Remedy> {
    let mut f = finding(api, rejected);
    refine_remedies(&mut f, &cluster(input));
    f.swap_remove(0).remedies
}

fn titles(remedies: &[Remedy]) -> Vec<&str> {
    remedies.iter().map(|r| r.title.as_str()).collect()
}

/// Item 1: `obs-level` sets no borrowingLimitPercent, so it may borrow without limit ("the
/// limit is effectively infinite"); the verdict said "Already throttled … fix the client [safe
/// to apply]" and dropped the only throttle with its watch command.
#[test]
fn a_level_that_may_borrow_without_limit_is_not_already_throttling_the_client() {
    let remedies = refined("apf_v1_zero.yaml", FlowControlApi::V1, Some((0, 2400)));
    let t = titles(&remedies);
    assert_eq!(t[0], "throttle", "the throttle is kept: {t:?}");
    assert_eq!(t[1], "Checked against the cluster's FlowSchemas: the throttle takes effect");
    assert!(t.contains(&"watch"), "{t:?}");
    assert!(!t.iter().any(|t| t.contains("fix the client")), "{t:?}");
    let verdict = &remedies[1];
    assert_eq!(verdict.safety, Safety::ReviewFirst);
    assert!(
        verdict.body.contains(
            "`obs-level` (0 concurrency shares, 8 queues of 10 requests, handSize 2, borrowing not limited (no \
             borrowingLimitPercent)) sets no borrowingLimitPercent: whenever other priority levels have idle seats it \
             may borrow them without limit"
        ),
        "{}",
        verdict.body
    );
    assert!(verdict.body.contains("It is not a throttle, whatever its shares"), "{}", verdict.body);
}

/// Item 2: the "stop borrowing" patch alone would leave a level of 0 nominal shares no seats
/// at all (NominalCL 0, BorrowingCL round(0 × 0 / 100) = 0): its requests could only queue and
/// be rejected. The patch gives it the proposed level's 5 shares too, review first.
#[test]
fn stopping_a_zero_share_level_borrowing_also_gives_it_shares() {
    let remedies = refined("apf_v1_zero.yaml", FlowControlApi::V1, None);
    let patch = remedies
        .iter()
        .find(|r| r.kind == RemedyKind::Command && r.body.contains("patch prioritylevelconfiguration"));
    let patch = patch.expect("a patch of obs-level");
    assert_eq!(
        patch.title,
        "Give priority level obs-level 5 concurrency shares of its own and stop it borrowing"
    );
    assert_eq!(patch.safety, Safety::ReviewFirst);
    assert!(
        patch.body.starts_with(
            "kubectl patch prioritylevelconfiguration obs-level --type=merge -p \
             '{\"spec\":{\"limited\":{\"nominalConcurrencyShares\":5,\"borrowingLimitPercent\":0}}}'\n"
        ),
        "{}",
        patch.body
    );
    assert!(
        patch.body.contains("borrowingLimitPercent 0 alone would leave it no seats at all"),
        "{}",
        patch.body
    );
    assert!(
        !remedies
            .iter()
            .any(|r| r.body.contains("-p '{\"spec\":{\"limited\":{\"borrowingLimitPercent\":0}}}'")),
        "never borrowingLimitPercent 0 alone"
    );
}

/// Item 3: an explicit `nominalConcurrencyShares: 0` in flowcontrol v1beta3 is defaulted to 30
/// by the API server; it was read as 0 and the level called tighter than the proposed 5.
#[test]
fn zero_shares_in_v1beta3_are_read_as_the_default_30() {
    let m = cluster("apf_v1beta3_zero.yaml");
    let pl = m.priority_levels.iter().find(|l| l.name == "obs-level").expect("obs-level");
    let limits = pl.limits.expect("limited");
    assert_eq!(limits.shares, 30);
    let remedies = refined("apf_v1beta3_zero.yaml", FlowControlApi::V1beta3, None);
    assert_eq!(
        titles(&remedies)[..2],
        ["throttle", "Checked against the cluster's FlowSchemas: the throttle takes effect"]
    );
    assert!(
        remedies[1].body.contains(
            "`obs-level` (30 concurrency shares (the API server reads nominalConcurrencyShares 0 in flowcontrol v1beta3 \
             as its default 30), 8 queues of 10 requests"
        ),
        "{}",
        remedies[1].body
    );
    // The stop-borrowing patch for a level of 30 shares sets the limit only.
    assert!(
        remedies
            .iter()
            .any(|r| r.title == "Stop priority level obs-level borrowing other levels' idle seats"),
        "{:?}",
        titles(&remedies)
    );
}

/// Item 3, every version: 0 is kept by v1 only (and by v1beta3 with the annotation a
/// v1 → v1beta3 conversion adds); v1beta1 and v1beta2 `assuredConcurrencyShares: 0` is 30.
#[test]
fn zero_shares_are_kept_by_v1_only() {
    let level = |api: &str, field: &str, annotation: bool| {
        let annotations = if annotation {
            "  annotations:\n    flowcontrol.k8s.io/v1beta3-preserve-zero-concurrency-shares: \"\"\n"
        } else {
            ""
        };
        let text = format!(
            "apiVersion: flowcontrol.apiserver.k8s.io/{api}\nkind: PriorityLevelConfiguration\nmetadata:\n  name: l\n{annotations}spec:\n  type: Limited\n  limited:\n    {field}: 0\n"
        );
        let mut m = Manifests::default();
        manifests::parse_text("l.yaml", &text, &mut m);
        let limits = m.priority_levels[0].limits.expect("limited");
        (limits.shares, limits.describe().contains("its default 30"))
    };
    assert_eq!(level("v1", "nominalConcurrencyShares", false), (0, false));
    assert_eq!(level("v1beta3", "nominalConcurrencyShares", false), (30, true));
    assert_eq!(level("v1beta3", "nominalConcurrencyShares", true), (0, false));
    assert_eq!(level("v1beta2", "assuredConcurrencyShares", false), (30, true));
    assert_eq!(level("v1beta1", "assuredConcurrencyShares", false), (30, true));
}

/// Item 4: a FlowSchema whose priority level does not exist is ignored by the API server; it
/// was said to catch the client before the throttle ("set the throttle's matchingPrecedence
/// below 50, or narrow observability-typo").
#[test]
fn a_dangling_flow_schema_does_not_catch_the_client_before_the_throttle() {
    let remedies = refined("apf_dangling_before.yaml", FlowControlApi::V1, None);
    // Nothing to review: the verdict is in the throttle's title and the comment its YAML starts with.
    let throttle = &remedies[0];
    assert_eq!(throttle.title, "throttle (checked against the cluster's FlowSchemas: it takes effect)");
    assert_eq!(titles(&remedies)[1], "watch");
    let comment: Vec<&str> = throttle.body.lines().map_while(|l| l.strip_prefix("# ")).collect();
    let comment = comment.join(" ");
    assert!(
        comment.starts_with(
            "Checked against the cluster's FlowSchemas: FlowSchema throttle-sa-observability.inventory-exporter \
             (matchingPrecedence 90) comes before every FlowSchema given that matches these requests: it takes \
             effect. Today these requests are classified by FlowSchema service-accounts"
        ),
        "{}",
        throttle.body
    );
    assert!(!throttle.body.contains("observability-typo"), "{}", throttle.body);
    // APF001 still reports it, with the same rule.
    let codes: Vec<String> =
        run(&cluster("apf_dangling_before.yaml"), &Context::default()).into_iter().map(|f| f.title).collect();
    assert_eq!(
        codes,
        vec!["FlowSchema observability-typo is ignored: its priority level does-not-exist does not exist"]
    );
}

/// Item 6, Kubernetes 1.27 (the throttle is written in v1beta3): a v1beta2 level without
/// borrowingLimitPercent borrows without limit there, as v1beta2 has the field from 1.26. It
/// was taken to have no borrowing, called "already throttled" with "fix the client [safe to
/// apply]". Its 2 shares and 8 queues of 10 are within the proposed level's, so capping it is
/// the tighter remedy (regression review s20 N1): first, review first, and no looser level.
#[test]
fn a_v1beta2_level_without_a_borrowing_limit_borrows_on_1_26_and_later() {
    let remedies = refined("apf_v1beta2.yaml", FlowControlApi::V1beta3, None);
    let t = titles(&remedies);
    assert_eq!(
        t[..2],
        [
            "Held by priority level obs-level, which only its unlimited borrowing loosens: cap it rather than add a level",
            "Stop priority level obs-level borrowing other levels' idle seats"
        ]
    );
    assert_eq!(remedies[0].safety, Safety::ReviewFirst);
    assert!(remedies[0].body.contains("(2 concurrency shares, 8 queues of 10 requests, handSize 2, borrowing not limited (no borrowingLimitPercent))"), "{}", remedies[0].body);
    assert!(!t.contains(&"throttle"), "{t:?}");
}

/// Item 6, Kubernetes 1.25 (the throttle is written in v1beta2): no API server before 1.26
/// lends seats between levels, so the same level (2 shares, 80 queue places) holds the client
/// tighter than the proposed one, and the verdict says why there is no borrowing.
#[test]
fn before_1_26_no_level_borrows_and_the_tighter_level_is_already_the_throttle() {
    let remedies = refined("apf_v1beta2.yaml", FlowControlApi::V1beta2, None);
    let t = titles(&remedies);
    assert_eq!(
        t,
        vec!["Already throttled by FlowSchema obs into priority level obs-level: fix the client", "advice"]
    );
    assert!(
        remedies[0].body.contains(
            "(2 concurrency shares, 8 queues of 10 requests, handSize 2, no borrowing (API servers before Kubernetes \
             1.26 lend no seats between levels))"
        ),
        "{}",
        remedies[0].body
    );
}

/// Item 7: a FlowSchema that exempts a group for `get /healthz` only is the shape of the
/// bootstrap `probes`; APF002 reported it. One that also exempts another URL still is.
#[test]
fn a_health_check_only_exemption_is_not_reported_by_apf002() {
    let titles: Vec<String> =
        run(&cluster("apf_tie.yaml"), &Context::default()).into_iter().map(|f| f.title).collect();
    assert!(titles.is_empty(), "{titles:?}");
    let text = std::fs::read_to_string(fixture("apf_review/apf_tie.yaml")).expect("fixture");
    for (urls, reported) in [
        ("[\"/healthz\", \"/readyz/etcd\", \"/livez/*\"]", false),
        ("[\"/healthz\", \"/metrics\"]", true),
        ("[\"*\"]", true),
        ("[\"/healthzz\"]", true),
    ] {
        let mut m = Manifests::default();
        manifests::parse_text("tie.yaml", &text.replace("[\"/healthz\"]", urls), &mut m);
        let out = run(&m, &Context::default());
        assert_eq!(out.iter().any(|f| f.code == "APF002"), reported, "{urls}: {out:?}");
    }
}

/// The bootstrap objects alone.
fn bootstrap() -> Manifests {
    load_paths(&[fixture("apf/k8s-bootstrap-apf-objects_v1.34plus.yaml")]).expect("readable")
}

/// A throttle of `list pods` for `subjects`, as `apiserver-doctor throttle` writes it.
fn list_pods_throttle(subjects: Vec<ApfSubject>) -> ThrottlePlan {
    ThrottlePlan::new(
        "client",
        subjects,
        vec![ResourceRule {
            verbs: ["list".to_owned()].into(),
            api_groups: ["".to_owned()].into(),
            resources: ["pods".to_owned()].into(),
            cluster_scope: true,
            namespaces: Default::default(),
        }],
    )
}

/// Review s45 item 1: `throttle --user kubernetes-admin --verbs list --resources pods
/// --manifests bootstrap.yaml` said "the throttle takes effect" (safe to apply, exit 0), though
/// kubeadm's kubernetes-admin is in `system:masters` and the mandatory `exempt` FlowSchema
/// classifies every request of it first. A user's groups were unknown, and taken to be
/// `system:authenticated` only.
#[test]
fn a_user_whose_groups_are_not_known_may_be_exempt_and_the_throttle_is_undecided() {
    let plan = list_pods_throttle(vec![ApfSubject::User("kubernetes-admin".into())]);
    let yaml = throttle_manifests(&plan, FlowControlApi::V1).expect("yaml");
    let v = manifests::throttle::judge(&yaml, &bootstrap()).expect("a FlowSchema");
    assert_eq!(v.groups_unknown, ["kubernetes-admin"]);
    let undecided: Vec<(&str, &[String])> =
        v.undecided.iter().map(|u| (u.name.as_str(), u.groups.as_slice())).collect();
    assert_eq!(undecided, [("exempt", &["system:masters".to_owned()][..])]);
    assert!(v.preempted_by.is_empty(), "{v:?}");
    let r = manifests::throttle::verdict_remedy(&v);
    assert_eq!(r.safety, Safety::ReviewFirst);
    assert_eq!(
        r.title,
        "Undecided: the cluster's FlowSchema exempt would catch these requests before the throttle if user \
         kubernetes-admin is in group system:masters (its groups are not known here)"
    );
    assert!(!r.title.contains("takes effect") && !r.body.contains("it takes effect"), "{}", r.body);
    for says in [
        "Today these requests are classified (for user `kubernetes-admin` in no group but `system:authenticated`) by \
         FlowSchema `global-default`",
        "Not known: the groups of user `kubernetes-admin`.",
        "FlowSchema `exempt` (matchingPrecedence 1, priority level `exempt`) is consulted before the throttle's \
         `throttle-user-kubernetes-admin` (matchingPrecedence 90) and takes in group `system:masters`: if it is in that \
         group, it catches all of them, and the throttle does not apply to them.",
        "a user in `system:masters` is always exempt",
        "`kubectl auth whoami` with the client's own credentials",
        "`X-Kubernetes-PF-FlowSchema-UID` response header",
    ] {
        assert!(r.body.contains(says), "{says}\n{}", r.body);
    }
    // With its groups seen in the audit log, the verdict is decided either way.
    let mut seen = plan.clone();
    seen.groups_seen.insert("kubernetes-admin".into(), ["system:authenticated".to_owned()].into());
    let v = manifests::throttle::judge(
        &throttle_manifests(&seen, FlowControlApi::V1).expect("yaml"),
        &bootstrap(),
    )
    .expect("a FlowSchema");
    assert!(v.undecided.is_empty() && v.groups_unknown.is_empty(), "{v:?}");
    let r = manifests::throttle::verdict_remedy(&v);
    assert_eq!(r.title, "Checked against the cluster's FlowSchemas: the throttle takes effect");
    assert_eq!(r.safety, Safety::Safe);
    // A service account's groups are always known: nothing undecided.
    let sa = list_pods_throttle(vec![ApfSubject::from_username("system:serviceaccount:ci:runner")]);
    let v =
        manifests::throttle::judge(&throttle_manifests(&sa, FlowControlApi::V1).expect("yaml"), &bootstrap())
            .expect("a FlowSchema");
    assert!(v.undecided.is_empty() && v.groups_unknown.is_empty(), "{v:?}");
    assert_eq!(manifests::throttle::verdict_remedy(&v).safety, Safety::Safe);
}

/// The inventory exporter's FlowSchema at precedence 500 sending it to level `slow`, of
/// `shares` concurrency shares, no borrowing, and `queuing` (`queues`, `handSize`,
/// `queueLengthLimit`), with the bootstrap objects.
fn held_by_slow(shares: u32, (queues, hand, limit): (u32, u32, u32)) -> Manifests {
    let mut m = bootstrap();
    manifests::parse_text(
        "slow.yaml",
        &format!(
            "apiVersion: flowcontrol.apiserver.k8s.io/v1\nkind: PriorityLevelConfiguration\nmetadata: {{name: slow}}\n\
             spec:\n  type: Limited\n  limited:\n    nominalConcurrencyShares: {shares}\n    borrowingLimitPercent: 0\n    \
             limitResponse:\n      type: Queue\n      queuing: {{queues: {queues}, handSize: {hand}, queueLengthLimit: \
             {limit}}}\n---\napiVersion: flowcontrol.apiserver.k8s.io/v1\nkind: FlowSchema\nmetadata: {{name: \
             exporter}}\nspec:\n  matchingPrecedence: 500\n  distinguisherMethod: {{type: ByUser}}\n  \
             priorityLevelConfiguration: {{name: slow}}\n  rules:\n  - subjects: [{{kind: ServiceAccount, \
             serviceAccount: {{namespace: observability, name: inventory-exporter}}}}]\n    resourceRules: [{{verbs: \
             ['*'], apiGroups: ['*'], resources: ['*'], namespaces: ['*'], clusterScope: true}}]\n"
        ),
        &mut m,
    );
    assert!(m.files.iter().all(|f| f.problems.is_empty()), "{:?}", m.files);
    m
}

/// Review s45 item 4: queue room was compared as queues × queueLengthLimit, but shuffle sharding
/// queues one flow (one client) in its hand of handSize queues only. Level `slow` (5 shares, no
/// borrowing, 8 queues of 100, handSize 8: 800 of the client's requests may wait) was called as
/// tight as the proposed level (16 queues of 50, handSize 4: 800 places, but 200 for one
/// client), and the throttle was taken out: "applying it would give this client as much room
/// or more".
#[test]
fn queue_room_is_compared_per_flow_hand_size_times_queue_length_limit() {
    let mut f = finding(FlowControlApi::V1, None);
    refine_remedies(&mut f, &held_by_slow(5, (8, 8, 100)));
    let remedies = f.swap_remove(0).remedies;
    let t = titles(&remedies);
    assert_eq!(
        t[..2],
        ["throttle", "Checked against the cluster's FlowSchemas: the throttle takes effect"],
        "{t:?}"
    );
    assert!(!t.iter().any(|t| t.contains("Already throttled")), "{t:?}");
    assert!(
        remedies[1].body.contains("`slow` (5 concurrency shares, 8 queues of 100 requests, handSize 8, no borrowing) is looser than the proposed level"),
        "{}",
        remedies[1].body
    );
    // 8 queues of 25 with handSize 8 hold 200 of one client's requests, as the proposed level:
    // as tight, whatever the total.
    let mut f = finding(FlowControlApi::V1, None);
    refine_remedies(&mut f, &held_by_slow(5, (8, 8, 25)));
    assert_eq!(
        titles(&f[0].remedies),
        ["Already throttled by FlowSchema exporter into priority level slow: fix the client", "advice"]
    );
    // 8 queues of 30 with handSize 8: 240 places in all, fewer than the proposed 800, but all 240
    // for one client, more than its 200: looser.
    let mut f = finding(FlowControlApi::V1, None);
    refine_remedies(&mut f, &held_by_slow(5, (8, 8, 30)));
    assert_eq!(titles(&f[0].remedies)[0], "throttle");
}

/// Review s45 item 2: when the client's level (`obs-level`, no borrowingLimitPercent) would,
/// capped, hold it tighter than the proposed level, the throttle was dropped and only the patch
/// capping `obs-level` was left, though another FlowSchema (`obs-batch`) sends its clients to
/// that level too: the cap would hold them as well. The throttle now stays, and the cap is a
/// second option, review first, naming the FlowSchemas it would also cap.
#[test]
fn capping_a_level_other_flow_schemas_send_to_keeps_the_throttle_and_names_them() {
    let mut m = cluster("apf_v1beta2.yaml");
    manifests::parse_text(
        "batch.yaml",
        "apiVersion: flowcontrol.apiserver.k8s.io/v1\nkind: FlowSchema\nmetadata: {name: obs-batch}\nspec:\n  \
         matchingPrecedence: 600\n  priorityLevelConfiguration: {name: obs-level}\n  rules:\n  - subjects: [{kind: \
         Group, group: {name: 'system:serviceaccounts:batch'}}]\n    resourceRules: [{verbs: ['*'], apiGroups: ['*'], \
         resources: ['*'], namespaces: ['*'], clusterScope: true}]\n",
        &mut m,
    );
    let mut f = finding(FlowControlApi::V1beta3, None);
    refine_remedies(&mut f, &m);
    let remedies = f.swap_remove(0).remedies;
    let t = titles(&remedies);
    assert_eq!(
        t,
        [
            "throttle",
            "Checked against the cluster's FlowSchemas: the throttle takes effect",
            "Stop priority level obs-level borrowing other levels' idle seats (it also caps obs-batch)",
            "watch",
            "advice"
        ]
    );
    assert_eq!(remedies[1].safety, Safety::ReviewFirst);
    assert!(
        remedies[1].body.contains(
            "Apply the throttle. Capping `obs-level` instead (the patch that stops its borrowing, below) would also \
             cap the requests of FlowSchema `obs-batch`, which send to it too"
        ),
        "{}",
        remedies[1].body
    );
    assert_eq!(remedies[2].safety, Safety::ReviewFirst);
    assert!(
        remedies[2]
            .body
            .contains("# It also holds the clients of FlowSchema obs-batch, which send to obs-level too."),
        "{}",
        remedies[2].body
    );
    // Alone on its level, capping it is still the tighter remedy, and the throttle gives way.
    let alone = refined("apf_v1beta2.yaml", FlowControlApi::V1beta3, None);
    assert!(titles(&alone)[0].starts_with("Held by priority level obs-level"), "{:?}", titles(&alone));
}

/// Review s45 item 6: any FlowSchema consulted first at matchingPrecedence 2 or less was
/// explained as `exempt`/`probes` and system:masters ("No throttle can come before it"). Only 1
/// is out of reach; OpenShift's `openshift-apiserver-sar` is at 2, where ties go by name: a
/// throttle at 2 whose name sorts first comes before it. Review of the remedies, item 6: but
/// `openshift-apiserver-sar` sends to `exempt` on purpose (the reviews OpenShift's API servers
/// wait on), and the verdict told how to get ahead of it; it now says not to. The advice to sort
/// first stays for a schema at 2 that sends to a limited level.
#[test]
fn a_schema_at_precedence_2_is_named_and_getting_ahead_is_suggested_only_when_it_does_not_exempt() {
    let bootstrap = fixture("apf/k8s-bootstrap-apf-objects_v1.34plus.yaml");
    let openshift = fixture("apf/openshift-apiserver-operator_09_flowschema.yaml");
    let m = load_paths(&[bootstrap.clone(), openshift.clone()]).expect("readable");
    let mut plan = ThrottlePlan::new(
        "openshift-apiserver-sa",
        vec![ApfSubject::from_username("system:serviceaccount:openshift-apiserver:openshift-apiserver-sa")],
        vec![ResourceRule {
            verbs: ["create".to_owned()].into(),
            api_groups: ["authorization.k8s.io".to_owned()].into(),
            resources: ["subjectaccessreviews".to_owned()].into(),
            cluster_scope: true,
            namespaces: Default::default(),
        }],
    );
    plan.matching_precedence = 2;
    let v = manifests::throttle::judge(&throttle_manifests(&plan, FlowControlApi::V1).expect("yaml"), &m)
        .expect("a FlowSchema");
    let r = manifests::throttle::verdict_remedy(&v);
    assert_eq!(
        r.title,
        "The cluster's FlowSchema openshift-apiserver-sar would catch these requests before the throttle \
         (exempted on purpose: do not force the throttle ahead of it)"
    );
    assert!(
        !r.body.contains("system:masters") && !r.body.contains("No throttle can come before"),
        "{}",
        r.body
    );
    assert!(
        r.body.contains(
            "`openshift-apiserver-sar` sends those requests to the priority level `exempt` on purpose"
        ),
        "{}",
        r.body
    );
    assert!(!r.body.contains("a name that sorts before"), "{}", r.body);
    // The same schema sending to a limited level: getting ahead of it is the advice.
    let text = std::fs::read_to_string(&openshift).expect("fixture");
    let limited = text.replacen("    name: exempt\n", "    name: workload-high\n", 1);
    assert_ne!(limited, text, "the fixture's first FlowSchema sends to exempt");
    let mut m = load_paths(&[bootstrap]).expect("readable");
    manifests::parse_text("limited.yaml", &limited, &mut m);
    let v = manifests::throttle::judge(&throttle_manifests(&plan, FlowControlApi::V1).expect("yaml"), &m)
        .expect("a FlowSchema");
    let r = manifests::throttle::verdict_remedy(&v);
    assert!(
        r.body.contains(
            "`openshift-apiserver-sar` has matchingPrecedence 2, the lowest a throttle may have, and between \
             FlowSchemas of one precedence the API server consults the one whose name sorts first: give the throttle \
             matchingPrecedence 2 and a name that sorts before `openshift-apiserver-sar`, or narrow \
             `openshift-apiserver-sar`."
        ),
        "{}",
        r.body
    );
    // Named so, the throttle comes first.
    plan.name = "a-throttle".into();
    let v = manifests::throttle::judge(&throttle_manifests(&plan, FlowControlApi::V1).expect("yaml"), &m)
        .expect("a FlowSchema");
    assert!(v.preempted_by.is_empty(), "{v:?}");
}
