//! The `AzureDiagnostics` table shows events under the Azure categories their input came in;
//! events from an API server's own log, which belong to none, under both (as Azure writes them
//! with both categories enabled).

mod common;

use common::{cluster_events, opts};
use engine::Engine;

fn engine_with(events: &[audit::Event], category: Option<&str>) -> Engine {
    let origin = audit::batch::Origin { azure_category: category.map(str::to_owned), ..Default::default() };
    let format =
        if category.is_some() { audit::InputFormat::AzureDiagnostics } else { audit::InputFormat::K8sLog };
    let batch = audit::batch::events_to_batch(events, format, &origin, false).expect("canonical batch");
    Engine::from_batches(vec![batch]).expect("engine")
}

fn by_category(engine: &Engine) -> String {
    let q = "AzureDiagnostics | summarize n = count() by Category | order by Category asc";
    let result = engine.query(q, &opts()).expect("runs");
    let mut out = Vec::new();
    engine::format::write_csv(&result, &mut out).expect("csv");
    String::from_utf8(out).expect("utf-8")
}

/// Review of issue 3: a `kube-audit-admin` export showed as many `kube-audit` rows as it had
/// events, a category that was not in the input; connector and count-by-category queries
/// answered wrong.
#[test]
fn azure_diagnostics_shows_the_categories_the_input_came_in() {
    let events = cluster_events(300);
    let writes = events.iter().filter(|e| !matches!(e.verb.as_str(), "get" | "list")).count();
    assert!(writes > 0 && writes < events.len());
    let n = events.len();
    assert_eq!(
        by_category(&engine_with(&events, None)),
        format!("Category,n\nkube-audit,{n}\nkube-audit-admin,{writes}\n")
    );
    assert_eq!(
        by_category(&engine_with(&events, Some("kube-audit"))),
        format!("Category,n\nkube-audit,{n}\n")
    );
    let admin_only: Vec<audit::Event> =
        events.iter().filter(|e| !matches!(e.verb.as_str(), "get" | "list")).cloned().collect();
    assert_eq!(
        by_category(&engine_with(&admin_only, Some("kube-audit-admin"))),
        format!("Category,n\nkube-audit-admin,{writes}\n")
    );
}
