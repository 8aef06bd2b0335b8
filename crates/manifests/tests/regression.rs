//! One test per bug of the manifests review (s20), named after it, on the reviewer's inputs
//! (tests/fixtures/review, see its SOURCES.md).

use std::fmt::Write;
use std::path::{Path, PathBuf};

use manifests::{Manifests, load_paths, parse_text};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/review").join(name)
}

fn read(name: &str) -> Manifests {
    load_paths(&[fixture(name)]).expect("readable")
}

/// What was read, as `file:line kind name` lines, and each problem at its line.
fn located(m: &Manifests) -> String {
    let mut out = String::new();
    let base = |p: &str| Path::new(p).file_name().and_then(|n| n.to_str()).unwrap_or(p).to_owned();
    for c in &m.webhook_configurations {
        writeln!(out, "{}:{} {}", base(&c.file), c.line, c.display_name()).ok();
    }
    for f in &m.flow_schemas {
        writeln!(out, "{}:{} FlowSchema/{}", base(&f.file), f.line, f.name).ok();
    }
    for f in &m.files {
        for p in &f.problems {
            writeln!(out, "{}:{}: {}", base(&f.path), p.line, p.message).ok();
        }
    }
    out
}

/// Review item 8: every object of a `kind: List` was reported at the List's line 1.
#[test]
fn objects_in_a_list_are_reported_at_their_own_line() {
    let m = read("list_bad_item.yaml");
    insta::assert_snapshot!("list_bad_item_yaml", located(&m));
    insta::assert_snapshot!("list_yaml", located(&read("list.yaml")));
    insta::assert_snapshot!("list_json", located(&read("list.json")));
    // WHK001's evidence points at the item too.
    let mut m = Manifests::default();
    parse_text("list.yaml", &std::fs::read_to_string(fixture("list.yaml")).expect("fixture"), &mut m);
    let findings = manifests::checks::run(&m, &Default::default());
    let sources: Vec<&str> = findings.iter().map(|f| f.evidence.source.as_str()).collect();
    insta::assert_snapshot!("list_yaml_whk001_sources", sources.join("\n"));
}

/// Review item 8: an item whose line cannot be found (a flow-style list) is named by its
/// position in the List.
#[test]
fn an_item_of_a_flow_style_list_is_named_by_its_position() {
    let mut m = Manifests::default();
    parse_text(
        "flow.yaml",
        "apiVersion: v1\nkind: List\nitems: [{kind: ConfigMap, apiVersion: v1}, {apiVersion: v1}]\n",
        &mut m,
    );
    insta::assert_snapshot!("flow_style_list", located(&m));
}

/// Review item 9: a misspelled kind in the webhook or APF groups was only counted among the
/// "other objects left out".
#[test]
fn a_misspelled_webhook_or_apf_kind_is_reported_with_the_nearest_kind() {
    let m = read("bad.yaml");
    insta::assert_snapshot!("bad_yaml", located(&m));
    let mut m = Manifests::default();
    parse_text(
        "kinds.yaml",
        "apiVersion: flowcontrol.apiserver.k8s.io/v1\nkind: FlowSchemas\nmetadata: {name: a}\n---\napiVersion: flowcontrol.apiserver.k8s.io/v1\nkind: PriorityLevelConfig\n---\napiVersion: v1\nkind: MutatingWebhookConfiguration\nmetadata: {name: c}\n---\napiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicy\nmetadata: {name: d}\n---\napiVersion: example.com/v1\nkind: FlowSchemaz\n",
        &mut m,
    );
    insta::assert_snapshot!("misspelled_kinds", located(&m));
    assert_eq!(m.files[0].other_objects, 2, "ValidatingAdmissionPolicy and another group's kind are left out quietly");
}

/// Review item 10: two JSON objects one after the other (JSON Lines) lost the whole file.
#[test]
fn concatenated_json_values_are_all_read() {
    let m = read("concat.json");
    insta::assert_snapshot!("concat_json", located(&m));
    // A bad value is reported at its line; the good ones around it are kept.
    let mut m = Manifests::default();
    let hook = |n: &str| {
        format!(
            r#"{{"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration", "metadata": {{"name": "{n}"}}}}"#
        )
    };
    let text = format!("{}\n{{\"kind\": \n{}\n\n{{\n  \"apiVersion\": \"v1\", \"kind\": \"List\", \"items\": [\n    {},\n    {}\n  ]\n}}\n", hook("a"), hook("c"), hook("d"), hook("e"));
    parse_text("lines.json", &text, &mut m);
    insta::assert_snapshot!("json_lines_with_a_bad_value", located(&m));
}
