//! The webhook configurations published by real projects (../shared/data/real/webhooks, copied
//! into tests/fixtures/webhooks with their sources): every file is read, and WHK001's verdict
//! on each is pinned.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use manifests::checks::{Context, run};
use manifests::load_paths;

fn fixtures() -> PathBuf {
    Path::new(&std::env::var("CARGO_MANIFEST_DIR").unwrap_or(env!("CARGO_MANIFEST_DIR").into()))
        .join("tests/fixtures/webhooks")
}

/// One line per file: what was read, what was skipped, and each finding.
fn verdicts(dir: &Path) -> String {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("fixtures")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    let mut out = String::new();
    for f in files {
        let m = load_paths(std::slice::from_ref(&f)).expect("readable");
        let name = f.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let webhooks: usize = m.webhook_configurations.iter().map(|c| c.webhooks.len()).sum();
        let s = &m.files[0];
        writeln!(
            out,
            "{name}: {} configurations, {webhooks} webhooks, {} other objects, {} problems",
            s.webhook_configurations,
            s.other_objects,
            s.problems.len()
        )
        .ok();
        for p in &s.problems {
            writeln!(out, "  problem at line {}: {}", p.line, p.message).ok();
        }
        for finding in run(&m, &Context::default()) {
            writeln!(out, "  {} {:?} {}", finding.code, finding.severity, finding.title).ok();
        }
    }
    out
}

#[test]
fn every_published_webhook_manifest_is_read_and_judged() {
    insta::assert_snapshot!(verdicts(&fixtures()));
}

/// The shared real-data folder's webhooks (DEVELOPERS.md: `APISERVER_DOCTOR_SHARED_DATA`, else
/// `../shared/data` beside the workspace, else `/work/shared/data`); required under CI.
fn shared() -> Option<PathBuf> {
    let workspace =
        Path::new(&std::env::var("CARGO_MANIFEST_DIR").unwrap_or(env!("CARGO_MANIFEST_DIR").into()))
            .join("../..");
    let candidates = [
        std::env::var_os("APISERVER_DOCTOR_SHARED_DATA").map(PathBuf::from),
        Some(workspace.join("../shared/data")),
        Some(PathBuf::from("/work/shared/data")),
    ];
    let found = candidates.into_iter().flatten().map(|d| d.join("real/webhooks")).find(|d| d.is_dir());
    if found.is_none() {
        assert!(std::env::var_os("CI").is_none(), "shared data (real/webhooks) is required under CI");
        eprintln!("skipping: shared data with real/webhooks not found (set APISERVER_DOCTOR_SHARED_DATA)");
    }
    found
}

#[test]
fn the_fixtures_are_the_shared_files_and_the_two_large_installs_are_read_too() {
    let Some(shared) = shared() else { return };
    for entry in std::fs::read_dir(fixtures()).expect("fixtures") {
        let p = entry.expect("entry").path();
        if p.extension().is_some_and(|e| e == "yaml") {
            let name = p.file_name().expect("name");
            assert_eq!(std::fs::read(&p).ok(), std::fs::read(shared.join(name)).ok(), "{}", p.display());
        }
    }
    let all = verdicts(&shared);
    assert!(all.contains(
        "gatekeeper_deploy_gatekeeper.yaml: 2 configurations, 3 webhooks, 28 other objects, 0 problems\n"
    ));
    assert!(all.contains(
        "istio_manifest-generate_pilot_default.golden.yaml: 2 configurations, 5 webhooks, 15 other objects, 0 problems\n"
    ));
    // Everything else reads as the fixtures do.
    let without_large: String = all
        .split_inclusive('\n')
        .filter(|l| !l.starts_with("gatekeeper_deploy") && !l.starts_with("istio_manifest-generate"))
        .collect();
    assert_eq!(without_large, verdicts(&fixtures()));
}

#[test]
fn the_published_apf_objects_are_read_and_give_no_finding() {
    let dir = Path::new(&std::env::var("CARGO_MANIFEST_DIR").unwrap_or(env!("CARGO_MANIFEST_DIR").into()))
        .join("tests/fixtures/apf");
    let m = load_paths(&[dir]).expect("readable");
    let counts: Vec<String> = m
        .files
        .iter()
        .map(|f| {
            let name = Path::new(&f.path).file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
            format!(
                "{name}: {} flow schemas, {} priority levels, {} problems{}",
                f.flow_schemas,
                f.priority_levels,
                f.problems.len(),
                // Two versions of the bootstrap objects, of the same names: the first read is
                // judged, the other copies are left out (review s51, item 6).
                if f.duplicates > 0 {
                    format!(", {} copies of objects read before", f.duplicates)
                } else {
                    String::new()
                }
            )
        })
        .collect();
    assert_eq!(
        counts,
        vec![
            "k8s-bootstrap-apf-objects_v1.28-v1.33.yaml: 13 flow schemas, 8 priority levels, 0 problems",
            "k8s-bootstrap-apf-objects_v1.34plus.yaml: 0 flow schemas, 0 priority levels, 0 problems, 19 copies of objects read before",
            "openshift-apiserver-operator_09_flowschema.yaml: 3 flow schemas, 0 priority levels, 0 problems",
            "openshift-authentication-operator_09_flowschema.yaml: 4 flow schemas, 0 priority levels, 0 problems",
        ]
    );
    let exempt: Vec<&str> =
        m.flow_schemas.iter().filter(|f| f.priority_level == "exempt").map(|f| f.name.as_str()).collect();
    assert!(exempt.contains(&"openshift-apiserver-sar"), "{exempt:?}");
    // Each file alone: the defaults, and OpenShift's narrow exemptions, are not findings.
    for f in &m.files {
        let alone = load_paths(&[PathBuf::from(&f.path)]).expect("readable");
        assert_eq!(run(&alone, &Context::default()), Vec::new(), "{}", f.path);
    }
    // Together, OpenShift's operator schemas name a priority level that only OpenShift's own
    // manifests define: APF001 says so, as it would of an incomplete cluster.
    let titles: Vec<String> = run(&m, &Context::default()).into_iter().map(|f| f.title).collect();
    assert_eq!(
        titles,
        vec![
            "FlowSchema openshift-apiserver-operator is ignored: its priority level openshift-control-plane-operators does not exist",
            "FlowSchema openshift-authentication-operator is ignored: its priority level openshift-control-plane-operators does not exist",
        ]
    );
}

/// Every flow schema and priority level of the published bootstrap objects (both versions) is
/// known by name as Kubernetes' own, and OpenShift's are not: MET006 and MET007 tell a
/// cluster's own rule from the defaults by these names, and a missed default would be called
/// a rule someone made to hold a client back.
#[test]
fn every_bootstrap_apf_object_is_known_as_kubernetes_own_and_openshifts_are_not() {
    use findings::apf::{Maker, flow_schema_maker, priority_level_maker};
    let dir = fixtures().join("../apf");
    for (file, own) in [
        ("k8s-bootstrap-apf-objects_v1.28-v1.33.yaml", true),
        ("k8s-bootstrap-apf-objects_v1.34plus.yaml", true),
        ("openshift-apiserver-operator_09_flowschema.yaml", false),
        ("openshift-authentication-operator_09_flowschema.yaml", false),
    ] {
        let m = load_paths(&[dir.join(file)]).expect("readable");
        let names: Vec<(&str, Maker)> = m
            .flow_schemas
            .iter()
            .map(|f| (f.name.as_str(), flow_schema_maker(&f.name)))
            .chain(m.priority_levels.iter().map(|p| (p.name.as_str(), priority_level_maker(&p.name))))
            .collect();
        assert!(names.len() >= 3, "{file}: {names:?}");
        let want = if own { Maker::Kubernetes } else { Maker::Other };
        for (name, who) in &names {
            assert_eq!(*who, want, "{file}: {name}");
        }
    }
}
