//! `diagnose` starts from the profile of the whole log (its events, requests, reads and time
//! range). Over a store it is read from the manifest instead of the files: it must be what
//! its query counts over those files, byte for byte in every number.

mod common;

use checks::aud009_evidence::{DataProfile, profile, profile_of_totals, profile_query, read_profile};
use checks::audit::QueryRunner;
use checks::engine_runner::EngineRunner;
use common::{Cluster, batch, t0};
use engine::Engine;

/// A cluster's events with every kind the profile tells apart: early stages, a stage left
/// out, events without any time, verbs read and not read.
fn events() -> Vec<audit::Event> {
    let mut events = Cluster::new().healthy().list_storm().webhook_outage().events;
    for (i, e) in events.iter_mut().enumerate() {
        match i % 11 {
            0 => e.stage = "ResponseStarted".into(),
            1 => e.stage = String::new(),
            2 => {
                e.timestamp = None;
                e.stage_timestamp = None;
            }
            3 => e.verb = "List".into(),
            _ => {}
        }
    }
    events
}

fn store_engine(dir: &std::path::Path, events: &[audit::Event]) -> Engine {
    let store = dir.join("store");
    let mut writer =
        audit::store::writer::StoreWriter::open(&store, audit::store::writer::WriterOptions::default())
            .expect("store opens");
    // Two batches, and the writer files each class of events apart (first stages, lists,
    // others): the manifest's totals add up several files.
    let (a, b) = events.split_at(events.len() / 3);
    writer.write(&batch(a)).expect("writes");
    writer.write(&batch(b)).expect("writes");
    writer.commit().expect("commits");
    let files = audit::store::Store::open(&store).expect("the store opens").manifest().files.len();
    assert!(files > 1, "{files} file: the totals would add up nothing");
    Engine::open_store(&store).expect("store engine")
}

fn queried(runner: &dyn QueryRunner) -> DataProfile {
    let rows = runner.run(&profile_query("AKSAudit")).expect("the profile query runs");
    read_profile(&rows).expect("reads")
}

#[test]
fn the_profile_read_from_a_store_manifest_is_what_its_query_counts() {
    let dir = tempfile::tempdir().expect("temp dir");
    let events = events();
    let engine = store_engine(dir.path(), &events);
    let runner = EngineRunner::new(&engine, t0());
    let totals = runner.store_totals().expect("a store engine has its manifest's totals");
    let from_manifest = profile_of_totals(&totals).expect("this build's manifests count TimeGenerated");
    let from_query = queried(&runner);
    assert_eq!(from_manifest, from_query);
    // The numbers are the cluster's, not two equal mistakes.
    assert_eq!(from_query.events, events.len() as f64);
    let without_time = events.iter().filter(|e| e.timestamp.is_none() && e.stage_timestamp.is_none()).count();
    assert_eq!(from_query.without_time, without_time as f64);
    let early =
        events.iter().filter(|e| e.stage == "ResponseStarted" || e.stage == "RequestReceived").count();
    assert!(early > 0 && without_time > 0);
    assert_eq!(from_query.requests, (events.len() - early) as f64);
    let reads = events.iter().filter(|e| e.verb == "get" || e.verb == "list").count();
    assert_eq!(from_query.reads, reads as f64);
    // And `profile`, what diagnose calls, takes it.
    assert_eq!(profile("AKSAudit", &runner).expect("profile"), from_query);
}

#[test]
fn the_profile_of_events_held_in_memory_is_queried() {
    let events = events();
    let engine = Engine::from_batches(vec![batch(&events)]).expect("engine");
    let runner = EngineRunner::new(&engine, t0());
    assert!(runner.store_totals().is_none());
    let got = profile("AKSAudit", &runner).expect("profile");
    assert_eq!(got, queried(&runner));
    assert_eq!(got.events, events.len() as f64);
}

#[test]
fn a_manifest_that_did_not_count_the_event_time_gives_no_profile() {
    let totals = audit::store::Counts { event_time: None, events: 10, ..audit::store::Counts::default() };
    assert!(profile_of_totals(&totals).is_none());
}
